import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryEpoch } from '../../format/determinism';
import { archiveNames, attestationName, packageFolderName, PUBLIC_KEY_FILE } from '../../format/layout';
import { sha256 } from '../../support/digest';
import { stableJson } from '../../support/stable-json';
import { toolVersions } from '../../support/tool-versions';
import { bundleVerifier, VERIFIER_FILE } from '../../verifier/bundle';
import type { AssembleContext, AssembleStep } from '../context';
import { engineDigest } from '../engine-digest';
import { builderId } from '../provenance';

/** Where each output goes, the facts MANIFEST.json and the attestation record, and the key that says whether anything changed. */
export const planOutputs: AssembleStep = {
  name: 'output plan',
  run(ctx) {
    const { env, version } = ctx;
    ctx.outputDir = ctx.at(ctx.options.outputDir);
    ctx.top = packageFolderName(version);
    const names = archiveNames(version);
    const out = (name: string) => join(ctx.outputDir, name);
    ctx.final = {
      packageDir: out(ctx.top),
      tarGz: out(names.tarGz),
      zip: out(names.zip),
      publicKey: out(PUBLIC_KEY_FILE),
      verifier: out(VERIFIER_FILE),
      attestation: out(attestationName(ctx.top)),
    };
    ctx.verifier = bundleVerifier();
    ctx.npmLock = ctx.at('package-lock.json');
    ctx.buildUser = env.BUILD_USER || (env.CI ? 'ci-system' : 'local-build');
    ctx.builderId = builderId(env, ctx.buildUser);
    ctx.target = ctx.options.target ?? `release:assemble:${ctx.options.production ? 'production' : 'development'}`;
    ctx.mtime = entryEpoch(env.SOURCE_DATE_EPOCH);
    ctx.buildDate = env.SOURCE_DATE_EPOCH ? ctx.mtime : (ctx.git?.commitTime ?? ctx.mtime);
    ctx.key = assemblyKey(ctx);
  },
};

/**
 * SHA-256 of everything the outputs are made of: the sections' fragments as written, the root
 * documents, the npm lockfile (the SBOM and the attestation name it), the facts MANIFEST.json and
 * the attestation record, the signing key, the verifier, the tool versions and the engine's own
 * code. When it matches the last assembly's and its outputs are untouched, nothing is made again.
 */
function assemblyKey(ctx: AssembleContext): string {
  const facts = {
    top: ctx.top,
    mtime: ctx.mtime,
    buildDate: ctx.buildDate,
    version: ctx.version,
    git: ctx.git,
    buildUser: ctx.buildUser,
    builderId: ctx.builderId,
    target: ctx.target,
    production: ctx.options.production,
    signing: { mode: ctx.signer.mode, fingerprint: ctx.signer.fingerprint },
    publicKey: ctx.signer.publicKey,
    skipped: ctx.skipped,
    verifier: sha256(ctx.verifier),
  };
  const hash = createHash('sha256').update(stableJson({ ...facts, tools: toolVersions(), engine: engineDigest() }));
  for (const { digest } of ctx.sections) hash.update(digest);
  for (const document of ctx.documents) hash.update(document.path).update(document.data);
  if (existsSync(ctx.npmLock)) hash.update(readFileSync(ctx.npmLock));
  return hash.digest('hex');
}
