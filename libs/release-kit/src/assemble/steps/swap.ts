import { renameSync } from 'node:fs';
import { moveIntoPlace, spareFor, swapIntoPlace } from '../../support/move-into-place';
import type { AssembleStep } from '../context';

/**
 * Every output moved into place once whole: archives, key and verifier first, the folder last, so
 * that a reader who sees the new folder finds its archives. What they replace becomes the spare.
 */
export const swap: AssembleStep = {
  name: 'swap into place',
  async run(ctx) {
    const { partial, final, mirrors } = ctx;
    await ctx.folder.copied;
    for (const name of ['tarGz', 'zip'] as const) {
      swapIntoPlace(partial[name], final[name]);
      if (mirrors[name]) renameSync(mirrors[name], spareFor(final[name]));
    }
    for (const name of ['publicKey', 'verifier'] as const) moveIntoPlace(partial[name], final[name]);
    swapIntoPlace(partial.packageDir, final.packageDir, ctx.stagingDir);
    if (mirrors.packageDir) renameSync(mirrors.packageDir, spareFor(final.packageDir));
    ctx.committed();
  },
};
