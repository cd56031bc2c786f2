import { deflateRootFiles, RootFile } from '../../archive/archive-writer';
import { formatSha256Sums } from '../../format/checksums';
import { FILE_MODE } from '../../format/determinism';
import { ROOT_FILES } from '../../format/layout';
import { buildManifest, octalMode } from '../../format/manifest';
import { sha256 } from '../../support/digest';
import { stableJsonBytes } from '../../support/stable-json';
import { toolVersions } from '../../support/tool-versions';
import type { AssembleStep } from '../context';
import { buildSbom, readNpmLock, SBOM_FILE } from '../sbom';
import { ReleaseError } from '../../support/errors';
import { findSecrets } from '../../validation/secrets';

/**
 * The root files: the documents, SBOM.cdx.json, MANIFEST.json, SHA256SUMS and its signature. They
 * are then deflated on the thread pool while the package folder is laid out.
 */
export const rootFiles: AssembleStep = {
  name: 'root files',
  async run(ctx) {
    const { version, buildDate, sections, skipped } = ctx;
    const sbom: RootFile = {
      path: SBOM_FILE,
      data: buildSbom({
        version,
        buildDate,
        files: [...sections.flatMap((s) => s.fragment.files), ...ctx.documents.map((d) => ({ path: d.path, sha256: sha256(d.data) }))],
        fragments: sections.map((s) => s.fragment),
        skipped,
        npm: readNpmLock(ctx.npmLock, 'package-lock.json'),
        tools: toolVersions(),
      }),
      mode: FILE_MODE,
    };
    const documents = [...ctx.documents, sbom];
    // Made at assembly from templates and commit messages: scanned here, as the sections' files are by validation.
    for (const document of documents) assertNoSecrets(document.path, document.data);
    ctx.listed = [
      ...sections.flatMap((s) => s.fragment.files),
      ...documents.map((d) => ({ path: d.path, size: d.data.length, sha256: sha256(d.data), mode: d.mode })),
    ];
    ctx.manifest = buildManifest({
      version,
      buildDate,
      git: ctx.git,
      buildUser: ctx.buildUser,
      production: ctx.options.production,
      signing: { mode: ctx.signer.mode, fingerprint: ctx.signer.fingerprint },
      fragments: sections.map((s) => s.fragment),
      // Keys in bytewise order: stableJsonBytes writes each of these objects without copying it.
      files: ctx.listed.map((f) => ({ mode: octalMode(f.mode), path: f.path, sha256: f.sha256, size: f.size })),
      tools: toolVersions(),
      skipped,
    });
    const manifestData = stableJsonBytes(ctx.manifest);
    const sums = Buffer.from(formatSha256Sums([...ctx.listed, { path: ROOT_FILES.manifest, sha256: sha256(manifestData) }]));
    const signature = Buffer.from(await ctx.signer.sign(sums, new Date(buildDate * 1000)));
    ctx.rootFiles = [
      ...documents,
      { path: ROOT_FILES.manifest, data: manifestData, mode: FILE_MODE },
      { path: ROOT_FILES.checksums, data: sums, mode: FILE_MODE },
      { path: ROOT_FILES.signature, data: signature, mode: FILE_MODE },
    ];
    ctx.deflatedRootFiles = deflateRootFiles(ctx.rootFiles);
    // Awaited by the archives step; marked handled until then.
    ctx.deflatedRootFiles.catch(() => undefined);
  },
};

/** A root file that would ship a real-looking secret stops the assembly: no value is shown. */
function assertNoSecrets(path: string, data: Buffer): void {
  const [finding, ...more] = findSecrets(data);
  if (!finding) return;
  throw new ReleaseError(`${finding.message}${more.length ? ` (and ${more.length} more)` : ''}`, {
    file: path,
    line: finding.line,
    hint: 'it comes from a template or a commit message: remove the secret there (and rotate it)',
  });
}
