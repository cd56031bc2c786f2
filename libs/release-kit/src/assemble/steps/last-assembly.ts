import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_FILES } from '../../format/layout';
import { removeStalePartials, stagingDirFor } from '../../support/move-into-place';
import type { AssembleStep } from '../context';
import { isUpToDate, readState } from '../state';

/**
 * What the last assembly left: partial files of a killed run are removed (a folder it set aside is
 * put back), and when its key matches and its outputs are untouched, the assembly is done.
 */
export const lastAssembly: AssembleStep = {
  name: 'last assembly',
  run(ctx) {
    const { outputDir, final } = ctx;
    ctx.stagingDir = stagingDirFor(ctx.options.workspaceRoot, outputDir);
    removeStalePartials(outputDir);
    if (ctx.stagingDir !== outputDir) removeStalePartials(ctx.stagingDir, outputDir);
    ctx.previous = readState(outputDir);
    if (isUpToDate(ctx.previous, ctx.key, outputDir, final.packageDir)) {
      ctx.log(`${ctx.top} is up to date (same sections, documents and key as the last assembly)`);
      ctx.manifest = JSON.parse(readFileSync(join(final.packageDir, ROOT_FILES.manifest), 'utf8'));
      ctx.upToDate = true;
    }
  },
};
