import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { archiveNames, attestationName, PUBLIC_KEY_FILE } from '../../format/layout';
import { sha256 } from '../../support/digest';
import { spareFor } from '../../support/move-into-place';
import { VERIFIER_FILE } from '../../verifier/bundle';
import type { AssembleStep } from '../context';
import { stamp, writeState } from '../state';

/** What this assembly wrote, for the next one to tell that nothing changed and to reuse the spares. */
export const recordState: AssembleStep = {
  name: 'state',
  run(ctx) {
    const { final, previous, folder } = ctx;
    const names = archiveNames(ctx.version);
    const files = [...ctx.listed, ...ctx.rootFiles.map((r) => ({ path: r.path, sha256: sha256(r.data) }))];
    writeState(ctx.outputDir, {
      key: ctx.key,
      files: Object.fromEntries(
        files.map((f) => [f.path, { sha256: f.sha256, ...(folder.linked.get(f.path) ?? stamp(join(final.packageDir, f.path))!) }]),
      ),
      outputs: Object.fromEntries(
        [names.tarGz, names.zip, PUBLIC_KEY_FILE, VERIFIER_FILE, attestationName(ctx.top)].map((name) => [
          name,
          stamp(join(ctx.outputDir, name))!,
        ]),
      ),
      layouts: ctx.layouts,
      // The archives just replaced, now the spares, as the last assembly recorded them; or the copies just made.
      spares: Object.fromEntries(
        (['tarGz', 'zip'] as const).flatMap((name) => {
          if (ctx.mirrors[name]) return [[names[name], { ...stamp(spareFor(final[name]))!, layout: ctx.layouts[names[name]] }]];
          const written = previous?.outputs[names[name]];
          const layout = previous?.layouts?.[names[name]];
          return written && layout && existsSync(spareFor(final[name])) ? [[names[name], { ...written, layout }]] : [];
        }),
      ),
    });
  },
};
