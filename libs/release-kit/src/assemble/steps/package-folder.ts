import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { partialPathFor, spareFor, takeSpare } from '../../support/move-into-place';
import { SPARED, type AssembleStep } from '../context';
import { writePackageFolder } from '../package-folder';
import { STATE_FILE } from '../state';

/**
 * The package folder, laid out under a partial name: the spare folder is updated in place when
 * there is one. Most copies go on on another thread; the swap step awaits them.
 */
export const packageFolder: AssembleStep = {
  name: 'package folder',
  async run(ctx) {
    const { final, stagingDir } = ctx;
    const scanned = await ctx.spareScan.scanned;
    ctx.partial = {
      packageDir: partialPathFor(final.packageDir, undefined, stagingDir),
      tarGz: partialPathFor(final.tarGz),
      zip: partialPathFor(final.zip),
      publicKey: partialPathFor(final.publicKey),
      verifier: partialPathFor(final.verifier),
      attestation: partialPathFor(final.attestation),
    };
    ctx.onFailure(() => {
      for (const p of [...Object.values(ctx.partial), ...Object.values(ctx.mirrors)]) rmSync(p, { recursive: true, force: true });
    });
    // From here the outputs change: the state no longer describes them.
    rmSync(join(ctx.outputDir, STATE_FILE), { force: true });
    // The folder and archives before the current ones, if kept, are updated in place (a crash
    // leaves partials that the next run removes). A first build leaves nothing to keep as a spare,
    // so it makes the spares: the archives are written twice in the same pass and the folder is
    // linked again. The next build then costs what changed, as every later one does.
    for (const name of SPARED) {
      takeSpare(final[name], ctx.partial[name]);
      if (existsSync(final[name]) || existsSync(ctx.partial[name])) continue;
      ctx.mirrors[name] =
        name === 'packageDir' ? partialPathFor(spareFor(final.packageDir), undefined, stagingDir) : partialPathFor(spareFor(final[name]));
    }
    const folder = writePackageFolder(ctx.partial.packageDir, {
      workspaceRoot: ctx.options.workspaceRoot,
      sections: ctx.sections,
      rootFiles: ctx.rootFiles,
      previous: { packageDir: final.packageDir, state: ctx.previous },
      linkedCopy: ctx.mirrors.packageDir,
      scanned,
    });
    ctx.folder = folder;
    ctx.onFailure(() => folder.abort());
  },
};
