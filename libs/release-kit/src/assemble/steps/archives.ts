import { writeTarGz, writeZip } from '../../archive/archive-writer';
import { archiveNames } from '../../format/layout';
import { sha256FileOnWorker } from '../../support/digest';
import type { AssembleContext, AssembleStep } from '../context';
import { sameStamp, stamp } from '../state';

/**
 * The .tar.gz and the .zip, written over their spares: a spare untouched since it was written keeps
 * its unchanged sections where they are. Each is hashed, for the provenance attestation, from the
 * moment it is written.
 */
export const archives: AssembleStep = {
  name: 'archives',
  async run(ctx) {
    const names = archiveNames(ctx.version);
    const input = {
      top: ctx.top,
      packageDir: ctx.partial.packageDir,
      mtime: ctx.mtime,
      rootFiles: await ctx.deflatedRootFiles,
      sections: ctx.sections,
    };
    for (const [name, write] of [
      ['tarGz', writeTarGz],
      ['zip', writeZip],
    ] as const) {
      const written = write(input, ctx.partial[name], spareLayout(ctx, name), ctx.mirrors[name]);
      ctx.layouts[names[name]] = written.layout;
      // Hashed on the other core while the next archive is written; the provenance step waits for it.
      const digest = sha256FileOnWorker(ctx.partial[name]);
      digest.catch(() => undefined);
      ctx.archiveDigests[names[name]] = digest;
      if (written.kept)
        ctx.log(
          `${names[name]}: ${mebibytes(written.kept)} of ${mebibytes(written.size)} left in place ` +
            '(unchanged sections of the last-but-one archive)',
        );
    }
  },
};

function spareLayout(ctx: AssembleContext, name: 'tarGz' | 'zip') {
  const spare = ctx.previous?.spares?.[archiveNames(ctx.version)[name]];
  return spare && sameStamp(stamp(ctx.partial[name]), spare) ? spare.layout : undefined;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
