import { chmodSync, copyFileSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PackagedSection, RootFile } from './archive-writer';
import { TREE_FOLDER } from './fragment';

/**
 * Lays out the package folder: section files are hard-linked from the sections' staged trees
 * (copied where a link cannot be made), root files are written.
 */
export function writePackageFolder(folder: string, sections: PackagedSection[], rootFiles: RootFile[]): void {
  mkdirSync(folder, { recursive: true, mode: 0o755 });
  chmodSync(folder, 0o755);
  for (const { fragment, outputDir } of sections) {
    for (const dir of fragment.directories) {
      mkdirSync(join(folder, dir), { recursive: true });
      chmodSync(join(folder, dir), 0o755);
    }
    for (const file of fragment.files) {
      const from = join(outputDir, TREE_FOLDER, file.path);
      const to = join(folder, file.path);
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to);
      }
      chmodSync(to, file.mode);
    }
  }
  for (const root of rootFiles) {
    mkdirSync(dirname(join(folder, root.path)), { recursive: true });
    writeFileSync(join(folder, root.path), root.data, { mode: root.mode });
    chmodSync(join(folder, root.path), root.mode);
  }
}
