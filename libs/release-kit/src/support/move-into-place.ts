import { createHash } from 'node:crypto';
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { isAlive } from './process-alive';

/** Temporary names start with this prefix, then the pid that made them, then a label. */
export const PARTIAL_PREFIX = '.partial-';
const ASIDE = 'previous-';

/** A temporary path in `dir` (by default beside `target`), owned by this process. */
export function partialPathFor(target: string, label = basename(target), dir = dirname(target)): string {
  return join(dir, `${PARTIAL_PREFIX}${process.pid}-${label}`);
}

/**
 * Where a large folder bound for `outputDir` is staged, and set aside while it is replaced. The Nx
 * daemon watches the whole workspace but a few folders (node_modules among them) and handles every
 * event under it, outputs included: every file created beside the published package folder, every
 * link made for the spare and every rename of such a folder within the watch costs it CPU on the
 * same cores as the build (docs/decisions.md has the figures). So a folder in the workspace's
 * output is staged in node_modules/.cache, one folder per output folder, and renamed into place
 * whole. A rename cannot cross file systems: where it fails (a separate node_modules mount, or an
 * output folder outside the workspace, which nothing watches), it is `outputDir` itself.
 */
export function stagingDirFor(workspaceRoot: string, outputDir: string): string {
  const inWorkspace = relative(workspaceRoot, outputDir);
  if (!inWorkspace || inWorkspace.startsWith('..') || isAbsolute(inWorkspace)) return outputDir;
  const dir = join(
    workspaceRoot,
    'node_modules',
    '.cache',
    'spacetime-staging',
    createHash('sha256').update(outputDir).digest('hex').slice(0, 16),
  );
  const probe = partialPathFor(join(dir, 'rename-probe'));
  const arrived = partialPathFor(join(outputDir, 'rename-probe'));
  try {
    mkdirSync(probe, { recursive: true });
    renameSync(probe, arrived);
    rmdirSync(arrived);
    return dir;
  } catch {
    rmSync(probe, { recursive: true, force: true });
    return outputDir;
  }
}

/**
 * Renames a whole staged file or folder onto `target`. A file replaces the old one in one rename,
 * so the name is never absent. A folder cannot be renamed over a full one: the old one is renamed
 * aside first and removed once the new one is in place; if the process dies between the two
 * renames, `removeStalePartials` puts the old one back.
 */
export function moveIntoPlace(staged: string, target: string): void {
  if (!lstatSync(staged).isDirectory()) return renameSync(staged, target);
  const aside = setAside(target, dirname(target));
  renameSync(staged, target);
  if (aside) rmSync(aside, { recursive: true, force: true });
}

/** Renames `target`, if it exists, to a partial name in `dir` that `removeStalePartials` restores. */
function setAside(target: string, dir: string): string | undefined {
  const aside = partialPathFor(target, `${ASIDE}${basename(target)}`, dir);
  try {
    renameSync(target, aside);
    return aside;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Where the folder or file that `swapIntoPlace` replaced is kept, for the next run to update in place. */
export function spareFor(target: string): string {
  return join(dirname(target), `.spare-${basename(target)}`);
}

/**
 * As `moveIntoPlace`, but the folder or file it replaces is kept as `spareFor(target)` instead of
 * being removed: the next run renames the spare to its staging name and updates it in place (see
 * `takeSpare`). A file's spare is a hard link made before the rename, so the name is never absent.
 * A folder is set aside in `asideDir` (see `stagingDirFor`).
 */
export function swapIntoPlace(staged: string, target: string, asideDir = dirname(target)): void {
  const spare = spareFor(target);
  if (!lstatSync(staged).isDirectory()) {
    rmSync(spare, { force: true });
    if (existsSync(target)) linkSync(target, spare);
    renameSync(staged, target);
    return;
  }
  const aside = setAside(target, asideDir);
  renameSync(staged, target);
  if (!aside) return;
  rmSync(spare, { recursive: true, force: true });
  renameSync(aside, spare);
}

/**
 * Renames the spare of `target`, if there is one, to `staging`. A spare that is still the very
 * file published as `target` (a run died between `swapIntoPlace`'s link and rename) is removed
 * instead: written over, it would change the published file.
 */
export function takeSpare(target: string, staging: string): void {
  const spare = spareFor(target);
  const kept = lstatSync(spare, { throwIfNoEntry: false });
  if (!kept) return;
  const published = lstatSync(target, { throwIfNoEntry: false });
  if (published && !kept.isDirectory() && published.ino === kept.ino && published.dev === kept.dev) rmSync(spare, { force: true });
  else renameSync(spare, staging);
}

/**
 * Cleans up after interrupted runs in `dir`: removes partial entries whose process is gone, and
 * restores into `targetDir` a folder that was set aside but never replaced.
 */
export function removeStalePartials(dir: string, targetDir = dir): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(PARTIAL_PREFIX)) continue;
    const [pid, ...rest] = name.slice(PARTIAL_PREFIX.length).split('-');
    if (Number(pid) === process.pid || isAlive(Number(pid))) continue;
    const label = rest.join('-');
    const original = label.startsWith(ASIDE) ? join(targetDir, label.slice(ASIDE.length)) : undefined;
    if (original && !existsSync(original)) renameSync(join(dir, name), original);
    else rmSync(join(dir, name), { recursive: true, force: true });
  }
}
