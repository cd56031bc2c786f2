import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isAlive } from './process-alive';

/** Temporary names start with this prefix, then the pid that made them, then a label. */
export const PARTIAL_PREFIX = '.partial-';
const ASIDE = 'previous-';

/** A temporary path beside `target`, owned by this process. */
export function partialPathFor(target: string, label = basename(target)): string {
  return join(dirname(target), `${PARTIAL_PREFIX}${process.pid}-${label}`);
}

/**
 * Renames a whole staged file or folder onto `target`. A file replaces the old one atomically.
 * An existing folder is renamed aside first and removed once the new one is in place; if the
 * process dies between the two renames, `removeStalePartials` puts the old one back.
 */
export function moveIntoPlace(staged: string, target: string): void {
  if (!existsSync(target) || !statSync(target).isDirectory()) {
    renameSync(staged, target);
    return;
  }
  const aside = partialPathFor(target, `${ASIDE}${basename(target)}`);
  renameSync(target, aside);
  renameSync(staged, target);
  rmSync(aside, { recursive: true, force: true });
}

/**
 * Cleans up after interrupted runs in `dir`: removes partial entries whose process is gone, and
 * restores a folder that was set aside but never replaced.
 */
export function removeStalePartials(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(PARTIAL_PREFIX)) continue;
    const [pid, ...rest] = name.slice(PARTIAL_PREFIX.length).split('-');
    if (Number(pid) === process.pid || isAlive(Number(pid))) continue;
    const label = rest.join('-');
    const original = label.startsWith(ASIDE) ? join(dir, label.slice(ASIDE.length)) : undefined;
    if (original && !existsSync(original)) renameSync(join(dir, name), original);
    else rmSync(join(dir, name), { recursive: true, force: true });
  }
}
