import { spareFor } from '../../support/move-into-place';
import { SwapRename, swapTogether } from '../../support/swap-journal';
import type { AssembleStep } from '../context';

/**
 * Every output moved into place once whole, in one journaled swap: archives, key, verifier and
 * attestation first, the folder last, so that a reader who sees the new folder finds its archives. What they
 * replace becomes the spare. A run killed in the middle leaves a journal that the next holder of
 * the output folder's lock finishes.
 */
export const swap: AssembleStep = {
  name: 'swap into place',
  async run(ctx) {
    const { partial, final, mirrors } = ctx;
    await ctx.folder.copied;
    const renames: SwapRename[] = [];
    for (const name of ['tarGz', 'zip'] as const) {
      renames.push({ op: 'swap', from: partial[name], to: final[name] });
      if (mirrors[name]) renames.push({ op: 'rename', from: mirrors[name], to: spareFor(final[name]) });
    }
    for (const name of ['publicKey', 'verifier', 'attestation'] as const)
      renames.push({ op: 'move', from: partial[name], to: final[name] });
    renames.push({ op: 'swap', from: partial.packageDir, to: final.packageDir, asideDir: ctx.stagingDir });
    if (mirrors.packageDir) renames.push({ op: 'rename', from: mirrors.packageDir, to: spareFor(final.packageDir) });
    swapTogether(ctx.outputDir, renames);
    ctx.committed();
  },
};
