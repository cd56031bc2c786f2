import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { FILE_MODE } from '../../format/determinism';
import { archiveNames, ROOT_FILES } from '../../format/layout';
import { sha256 } from '../../support/digest';
import { toolVersions } from '../../support/tool-versions';
import type { AssembleStep } from '../context';
import { provenanceStatement, signedAttestation } from '../provenance';

/**
 * The signed provenance attestation beside the archives: what was built (the archives, SHA256SUMS,
 * the image tarball), from what and by whom. The archives' digests come from the archives step.
 */
export const provenance: AssembleStep = {
  name: 'provenance',
  async run(ctx) {
    const names = archiveNames(ctx.version);
    const [tarGz, zip] = await Promise.all([ctx.archiveDigests[names.tarGz], ctx.archiveDigests[names.zip]]);
    const statement = provenanceStatement({
      top: ctx.top,
      version: ctx.version,
      production: ctx.options.production,
      target: ctx.target,
      builderId: ctx.builderId,
      buildDate: ctx.buildDate,
      git: ctx.git,
      signing: { mode: ctx.signer.mode, fingerprint: ctx.signer.fingerprint },
      skipped: ctx.skipped,
      tools: toolVersions(),
      fragments: ctx.sections.map((s) => s.fragment),
      archives: { [names.tarGz]: tarGz, [names.zip]: zip },
      checksums: sha256(ctx.rootFiles.find((f) => f.path === ROOT_FILES.checksums)!.data),
      npmLock: existsSync(ctx.npmLock) ? sha256(readFileSync(ctx.npmLock)) : undefined,
    });
    const attestation = await signedAttestation(statement, ctx.signer, new Date(ctx.buildDate * 1000));
    writeFileSync(ctx.partial.attestation, attestation, { mode: FILE_MODE });
  },
};
