import * as openpgp from 'openpgp';
import type { SectionFragment, Skip } from '../format/fragment';
import { ROOT_FILES } from '../format/layout';
import type { SigningMode } from '../format/manifest';
import {
  BUILD_TYPE,
  Envelope,
  GIT_COMMIT,
  pae,
  PAYLOAD_TYPE,
  PROVENANCE_TYPE,
  ResourceDescriptor,
  Statement,
  STATEMENT_TYPE,
} from '../format/provenance';
import type { GitInfo } from '../support/git-info';
import { stableJsonBytes } from '../support/stable-json';
import type { Signer } from './signing';

export interface ProvenanceInput {
  top: string;
  version: string;
  production: boolean;
  target: string;
  builderId: string;
  /** Seconds since 1970: MANIFEST.json's build_date. */
  buildDate: number;
  git: GitInfo | undefined;
  signing: { mode: SigningMode; fingerprint: string };
  skipped: Skip[];
  tools: Record<string, string>;
  fragments: SectionFragment[];
  /** SHA-256 of each archive by its file name, and of SHA256SUMS. */
  archives: Record<string, string>;
  checksums: string;
  npmLock: string | undefined;
}

/**
 * Who ran the build, in a form that names no machine and no person: the CI workflow on GitHub
 * Actions and GitLab CI, else `local:<build user>` (MANIFEST.json's build_user: BUILD_USER, or
 * `ci-system` / `local-build`).
 */
export function builderId(env: NodeJS.ProcessEnv, buildUser: string): string {
  if (env.GITHUB_ACTIONS === 'true' && env.GITHUB_WORKFLOW_REF)
    return `${env.GITHUB_SERVER_URL || 'https://github.com'}/${env.GITHUB_WORKFLOW_REF}`;
  if (env.GITLAB_CI === 'true' && env.CI_PROJECT_URL) {
    const ref = env.CI_COMMIT_TAG ? `refs/tags/${env.CI_COMMIT_TAG}` : `refs/heads/${env.CI_COMMIT_REF_NAME}`;
    return `${env.CI_PROJECT_URL}/${env.CI_CONFIG_PATH || '.gitlab-ci.yml'}@${ref}`;
  }
  return `local:${encodeURIComponent(buildUser)}`;
}

/** The in-toto Statement: the archives, SHA256SUMS and the image tarball, built from the commit, lockfile, engine and base image. */
export function provenanceStatement(input: ProvenanceInput): Statement {
  const development = input.signing.mode === 'development';
  return {
    _type: STATEMENT_TYPE,
    subject: [
      ...Object.entries(input.archives).map(([name, sha256]) => ({ name, digest: { sha256 } })),
      { name: `${input.top}/${ROOT_FILES.checksums}`, digest: { sha256: input.checksums } },
      ...imageTarballs(input.fragments).map(({ path, sha256 }) => ({ name: `${input.top}/${path}`, digest: { sha256 } })),
    ],
    predicateType: PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          version: input.version,
          configuration: input.production ? 'production' : 'development',
          target: input.target,
        },
        internalParameters: {
          gitDirty: input.git?.dirty ?? false,
          signing: { ...input.signing, development },
          skipped: input.skipped.map((s) => s.artifact),
        },
        resolvedDependencies: [
          ...(input.git
            ? [{ name: 'source', uri: input.git.remoteUrl && `git+${input.git.remoteUrl}`, digest: { [GIT_COMMIT]: input.git.commit } }]
            : []),
          ...(input.npmLock ? [{ name: 'package-lock.json', digest: { sha256: input.npmLock } }] : []),
          ...engines(input.fragments),
        ],
      },
      runDetails: {
        builder: { id: input.builderId, version: input.tools },
        metadata: { startedOn: new Date(input.buildDate * 1000).toISOString().replace('.000Z', 'Z') },
      },
    },
  };
}

/** The statement signed as a DSSE envelope by the release key, through the path that signs SHA256SUMS: one JSON line. */
export async function signedAttestation(statement: Statement, signer: Signer, date: Date): Promise<Buffer> {
  const payload = stableJsonBytes(statement);
  const armoredSignature = await signer.sign(pae(PAYLOAD_TYPE, payload), date);
  const signature = (await openpgp.readSignature({ armoredSignature })).write();
  const envelope: Envelope = {
    payload: payload.toString('base64'),
    payloadType: PAYLOAD_TYPE,
    signatures: [{ keyid: signer.fingerprint, sig: Buffer.from(signature).toString('base64') }],
  };
  return Buffer.from(`${JSON.stringify(envelope)}\n`);
}

/** The saved image tarballs the sections ship (binaries: `spacetime-vr-<version>.tar.gz`). */
function imageTarballs(fragments: SectionFragment[]): Array<{ path: string; sha256: string }> {
  return fragments.flatMap(({ section, metadata, files }) => {
    const tarball = (metadata.image as { tarball?: unknown } | null | undefined)?.tarball;
    const file = typeof tarball === 'string' ? files.find((f) => f.path === `${section}/${tarball}`) : undefined;
    return file ? [{ path: file.path, sha256: file.sha256 }] : [];
  });
}

/** The Godot engine that exported the server and the base image the server image was built on, as the sections recorded them. */
function engines(fragments: SectionFragment[]): ResourceDescriptor[] {
  return fragments.flatMap(({ metadata }) => {
    const godot = (metadata.godot as { version?: unknown } | null | undefined)?.version;
    const base = (metadata.image as { base?: { name?: unknown; id?: unknown; repoDigests?: unknown } } | null | undefined)?.base;
    const imageId = typeof base?.id === 'string' ? /^sha256:([0-9a-f]{64})$/.exec(base.id)?.[1] : undefined;
    return [
      ...(typeof godot === 'string' ? [{ name: 'godot', uri: `pkg:generic/godot@${encodeURIComponent(godot)}` }] : []),
      ...(typeof base?.name === 'string' && imageId
        ? [{ name: base.name, digest: { sha256: imageId }, annotations: { baseImage: true, repoDigests: base.repoDigests ?? [] } }]
        : []),
    ];
  });
}
