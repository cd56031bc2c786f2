import { SBOM_FILE } from '../sbom';
import { ROOT_FILES } from '../../format/layout';
import { spareFor } from '../../support/move-into-place';
import type { AssembleStep } from '../context';
import { startFolderScan } from '../package-folder';

/**
 * Starts scanning the spare package folder (the one before the current one) on another thread, a
 * stat per file, while this thread makes the root files. The package-folder step awaits it.
 */
export const scanSpareFolder: AssembleStep = {
  name: 'spare folder scan',
  run(ctx) {
    const rootPaths = [...ctx.documents.map((d) => d.path), SBOM_FILE, ROOT_FILES.manifest, ROOT_FILES.checksums, ROOT_FILES.signature];
    const scan = startFolderScan(spareFor(ctx.final.packageDir), ctx.sections, rootPaths);
    ctx.spareScan = scan;
    ctx.onFailure(() => scan.abort());
  },
};
