import { copyFileSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readMadeFile, SectionFragment } from '../format/fragment';

/**
 * Lays out a packaged section as files under `dest` (`dest/<section>/...`), for tools that need
 * a folder (validators). Files shipped from the workspace are hard-linked (copied across file
 * systems), so the folder is read-only by convention: nothing may write into it.
 */
export function stageSectionTree(fragment: SectionFragment, sectionOutput: string, workspaceRoot: string, dest: string): void {
  for (const dir of fragment.directories) mkdirSync(join(dest, dir), { recursive: true });
  for (const file of fragment.files) {
    const to = join(dest, file.path);
    mkdirSync(dirname(to), { recursive: true });
    if (!file.source) {
      writeFileSync(to, readMadeFile(sectionOutput, file));
      continue;
    }
    const from = join(workspaceRoot, file.source);
    try {
      linkSync(from, to);
    } catch {
      copyFileSync(from, to);
    }
  }
}
