import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { moveIntoPlace, swapIntoPlace } from './move-into-place';
import { isAlive } from './process-alive';
import { writeAtomically } from './write-atomically';

/**
 * The renames that put a set of outputs in place together. They are written down before the first
 * one is made, so that a process that dies between two of them leaves a journal: the next holder of
 * the output folder's lock makes the renames that are left (rolls forward), and every reader of the
 * folder sees either the outputs before the swap or all of the outputs after it, never a mixture.
 */
export const SWAP_JOURNAL = '.swap-journal.json';

export type SwapRename =
  /** `swapIntoPlace`: what `to` was becomes its spare. */
  | { op: 'swap'; from: string; to: string; asideDir?: string }
  /** `moveIntoPlace`: what `to` was is removed. */
  | { op: 'move'; from: string; to: string }
  /** A plain rename (a spare made beside the output). */
  | { op: 'rename'; from: string; to: string };

interface Journal {
  pid: number;
  renames: SwapRename[];
}

/** Makes every rename, in order, journaled in `dir` until the last one is made. */
export function swapTogether(dir: string, renames: SwapRename[]): void {
  const journal = join(dir, SWAP_JOURNAL);
  writeAtomically(journal, `${JSON.stringify({ pid: process.pid, renames } satisfies Journal)}\n`);
  for (const rename of renames) apply(rename);
  rmSync(journal, { force: true });
}

/**
 * Finishes the swap of a process that died in the middle of it: each rename whose source is still
 * there is made. Called by the holder of the output folder's lock before it reads or writes the
 * folder; a journal of a process still alive is left alone. Returns whether a swap was finished.
 */
export function finishInterruptedSwap(dir: string): boolean {
  const journal = join(dir, SWAP_JOURNAL);
  if (!existsSync(journal)) return false;
  let recorded: Journal;
  try {
    recorded = JSON.parse(readFileSync(journal, 'utf8'));
  } catch {
    // Written through a partial name and renamed: a journal that does not parse was not ours.
    rmSync(journal, { force: true });
    return false;
  }
  if (recorded.pid !== process.pid && isAlive(recorded.pid)) return false;
  for (const rename of recorded.renames) if (existsSync(rename.from)) apply(rename);
  rmSync(journal, { force: true });
  return true;
}

function apply(rename: SwapRename): void {
  if (rename.op === 'swap') swapIntoPlace(rename.from, rename.to, rename.asideDir);
  else if (rename.op === 'move') moveIntoPlace(rename.from, rename.to);
  else renameSync(rename.from, rename.to);
}
