import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { Dirent, lstatSync, readdirSync, realpathSync, Stats, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { assertArchivablePath } from '../format/archive-path';
import { fileSystemError, ReleaseError } from '../support/errors';

export interface SourceFile {
  /** Path relative to the walked folder, with `/` separators. */
  relativePath: string;
  absolutePath: string;
  size: number;
  /** The source's permission bits (only the owner's execute bit is used). */
  mode: number;
  /** What the listing's stat said (see FileStat). */
  stat: FileStat;
}

/**
 * The kernel stamps ctime from a clock that ticks every few milliseconds. A file changed less than
 * this long before it was looked at may change again within the same tick, under the same stamp
 * (git's "racy clean" entries): its stamp is not recorded, and it is hashed again.
 */
export const RACY_MS = 100;

/**
 * A file's stat as git's index compares it (inode, size, mtime, ctime), and whether it was old
 * enough when it was taken that a write in the same clock tick cannot share it (RACY_MS).
 */
export interface FileStat {
  key: string;
  settled: boolean;
}

export function fileStat(stat: Stats, observedAt: number): FileStat {
  return { key: `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`, settled: observedAt - stat.ctimeMs >= RACY_MS };
}

/**
 * The files a section may ship, as workspace-relative paths with `/` separators. In a task, the
 * files Nx's file map has for the project: tracked files plus untracked files git does not ignore
 * (less `.nxignore`), the list the task's hash is computed from, so a file ships exactly when it is
 * an input of the task. Outside Nx, git's list of the same. A file not on the list never ships.
 */
export interface FileList {
  /** The listed paths; null where there is no list (outside a git work tree nothing is ignored). */
  paths: ReadonlySet<string> | null;
  /** What made the list, for messages. */
  source: string;
  /**
   * Whether a listed file that is not on disk is an error: Nx hashed it, so the package would not be
   * what its hash says. git's index also lists files deleted from the work tree; those are just gone.
   */
  missingIsError: boolean;
}

/** The list of Nx's file map: the project's files as Nx hashes them. */
export function fileMapList(paths: Iterable<string>): FileList {
  return { paths: new Set(paths), source: "Nx's file map", missingIsError: true };
}

/**
 * What Nx's file map would hold under `folders`, where Nx is not running: one
 * `git ls-files --cached --others --exclude-standard` (tracked files, plus untracked files git does
 * not ignore). Outside a git work tree, or without git, there is no list: every file counts.
 */
export function gitFileList(workspaceRoot: string, folders: string[]): FileList {
  const pathspecs = folders.map((folder) => `:(literal)${relative(workspaceRoot, folder).split(sep).join('/') || '.'}`);
  const run = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...pathspecs], {
    cwd: workspaceRoot,
    maxBuffer: 1 << 30,
  });
  if (run.error || run.status !== 0) {
    if (notARepository(run)) return { paths: null, source: 'git', missingIsError: false };
    throw new ReleaseError(`git ls-files failed: ${gitMessage(run)}`, { file: workspaceRoot });
  }
  // A name that is not UTF-8 is never looked up: the walk refuses it first.
  return { paths: new Set(splitNul(run.stdout).map((p) => p.toString('utf8'))), source: 'git', missingIsError: false };
}

/** An entry the list does not name and that is not a regular file: a folder, link, FIFO, socket or device. */
interface Unlisted {
  /** Workspace-relative path as bytes (a name may not be UTF-8), for `git check-ignore`. */
  key: Buffer;
  absolutePath: string;
  relativePath: string;
  /** Its folder's real path (links are not followed, so this is the walk's own path). */
  realDir: string;
  name: Buffer;
  folder: boolean;
}

/**
 * Lists the regular files below `folder` that `list` names, sorted. A listed symlink to a file is
 * shipped with its target's bytes when the target stays inside `workspaceRoot`; one that leaves
 * it, dangles, loops or points at a folder (Nx lists no file behind a folder link) is an error
 * naming the link. Anything else the list leaves out is skipped when git ignores it: an unlisted
 * regular file (ignored, or in `.nxignore`) silently, an ignored folder without being walked. An
 * unlisted entry git does not ignore is walked (a folder) or refused (a FIFO, a dangling link, a
 * name that is not UTF-8), as it would be in the list. One `git check-ignore` per level of such
 * entries, none when there are none.
 */
export function listSourceFiles(
  folder: string,
  workspaceRoot: string,
  list: FileList = gitFileList(workspaceRoot, [folder]),
): SourceFile[] {
  const show = (p: string) => relative(workspaceRoot, p) || p;
  const realRoot = realpathSync(workspaceRoot);
  let rootStat: Stats;
  try {
    rootStat = lstatSync(folder);
    if (rootStat.isSymbolicLink()) folderLink(folder, show(folder));
  } catch (error) {
    if (error instanceof ReleaseError) throw error;
    throw new ReleaseError('the section source folder is missing', { file: show(folder) });
  }
  if (!rootStat.isDirectory()) throw new ReleaseError('is not a folder', { file: show(folder) });

  const base = relative(workspaceRoot, folder).split(sep).join('/');
  const prefix = base ? `${base}/` : '';
  const listed = list.paths;
  // The listed files under the folder, and the folders that hold one: those are walked without asking git.
  const expected: string[] = [];
  const listedFolders = new Set<string>();
  for (const path of listed ?? []) {
    if (!path.startsWith(prefix)) continue;
    expected.push(path);
    for (let end = path.lastIndexOf('/'); end >= prefix.length; end = path.lastIndexOf('/', end - 1)) {
      const parent = path.slice(0, end);
      if (listedFolders.has(parent)) break;
      listedFolders.add(parent);
    }
  }

  const files: SourceFile[] = [];
  const found = new Set<string>();
  let unlisted: Unlisted[] = [];

  const ship = (absolutePath: string, relativePath: string, realDir: string) => {
    assertArchivablePath(relativePath, show(absolutePath));
    let stat = lstatSync(absolutePath);
    if (stat.isSymbolicLink()) {
      const target = linkTarget(absolutePath, show(absolutePath), realRoot);
      stat = statSync(absolutePath);
      if (stat.isDirectory()) folderLink(absolutePath, show(absolutePath), target, realDir);
    }
    if (!stat.isFile()) throw new ReleaseError('is not a regular file or folder (device, socket or FIFO)', { file: show(absolutePath) });
    files.push({ relativePath, absolutePath, size: stat.size, mode: stat.mode & 0o7777, stat: fileStat(stat, Date.now()) });
  };

  const visit = (dir: string, rel: string, realDir: string) => {
    const entries = readdirSync(dir, { encoding: 'buffer', withFileTypes: true }) as Dirent<Buffer>[];
    for (const entry of entries.sort((a, b) => Buffer.compare(a.name, b.name))) {
      const name = entry.name.toString('utf8');
      const absolutePath = join(dir, name);
      const relativePath = rel ? `${rel}/${name}` : name;
      const key = prefix + relativePath;
      const utf8 = Buffer.from(name, 'utf8').equals(entry.name);
      if (utf8 && entry.isDirectory() && (!listed || listedFolders.has(key))) {
        visit(absolutePath, relativePath, join(realDir, name));
      } else if (utf8 && !entry.isDirectory() && (!listed || listed.has(key))) {
        found.add(key);
        ship(absolutePath, relativePath, realDir);
      } else if (!utf8 || !entry.isFile()) {
        const keyBytes = Buffer.concat([Buffer.from(prefix + (rel ? `${rel}/` : ''), 'utf8'), entry.name]);
        unlisted.push({ key: keyBytes, absolutePath, relativePath, realDir, name: entry.name, folder: utf8 && entry.isDirectory() });
      }
      // else: a regular file the list leaves out (ignored by git, or by .nxignore): it never ships.
    }
  };

  try {
    visit(folder, '', realpathSync(folder));
    while (unlisted.length > 0) {
      const batch = unlisted;
      unlisted = [];
      const ignored = gitIgnored(
        workspaceRoot,
        batch.map((u) => u.key),
      );
      for (const entry of batch) {
        if (ignored.has(entry.key.toString('latin1'))) continue;
        if (entry.folder) visit(entry.absolutePath, entry.relativePath, join(entry.realDir, entry.name.toString('utf8')));
        else refuseUnlisted(entry, show, realRoot);
      }
    }
  } catch (error) {
    throw fileSystemError(error, show, folder); // e.g. a path beyond PATH_MAX
  }

  if (list.missingIsError && found.size < expected.length) {
    const missing = expected.filter((path) => !found.has(path)).sort()[0];
    throw new ReleaseError(`is in ${list.source} but is no longer a file on disk`, {
      file: missing,
      hint: 'it was removed or replaced while the task ran: run the task again',
    });
  }
  return files;
}

/** An unlisted entry git does not ignore: the error it would get in the list, or nothing for a link to a file Nx leaves out. */
function refuseUnlisted(entry: Unlisted, show: (p: string) => string, realRoot: string): void {
  const shown = show(entry.absolutePath);
  if (!Buffer.from(entry.name.toString('utf8'), 'utf8').equals(entry.name)) {
    throw new ReleaseError('cannot be archived safely: its name is not valid UTF-8', { file: shown, hint: 'rename the file' });
  }
  assertArchivablePath(entry.relativePath, shown);
  const stat = lstatSync(entry.absolutePath);
  if (!stat.isSymbolicLink()) throw new ReleaseError('is not a regular file or folder (device, socket or FIFO)', { file: shown });
  const target = linkTarget(entry.absolutePath, shown, realRoot);
  if (statSync(entry.absolutePath).isDirectory()) folderLink(entry.absolutePath, shown, target, entry.realDir);
  // A link to a file that the list leaves out (.nxignore): it never ships.
}

/** The real path of a symlink's target, which must exist and stay inside the workspace. */
function linkTarget(link: string, shown: string, realRoot: string): string {
  let target: string;
  try {
    target = realpathSync(link);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new ReleaseError('is a symlink loop', { file: shown });
    throw new ReleaseError('is a symlink whose target does not exist', { file: shown });
  }
  if (target !== realRoot && !target.startsWith(realRoot + sep)) {
    throw new ReleaseError(`is a symlink that leaves the workspace (to ${target})`, {
      file: shown,
      hint: 'copy the file into the workspace instead',
    });
  }
  return target;
}

/** A symlink to a folder: a loop when it points at its own folder or one above, else a folder no file list sees into. */
function folderLink(link: string, shown: string, target = realpathSync(link), realDir?: string): never {
  if (realDir && (target === realDir || realDir.startsWith(target + sep))) throw new ReleaseError('is a symlink loop', { file: shown });
  throw new ReleaseError("is a symlink to a folder: Nx's file map (like git) lists no file behind it, so none of them could ship", {
    file: shown,
    hint: 'move or copy the folder into the section, or link its files one by one',
  });
}

/**
 * Which of `paths` (workspace-relative, as bytes) git ignores, as latin1 strings: one
 * `git check-ignore` for all of them. Outside a git work tree, none.
 */
function gitIgnored(workspaceRoot: string, paths: Buffer[]): Set<string> {
  const nul = Buffer.alloc(1);
  const run = spawnSync('git', ['check-ignore', '-z', '--stdin'], {
    cwd: workspaceRoot,
    input: Buffer.concat(paths.flatMap((p) => [p, nul])),
    maxBuffer: 1 << 30,
  });
  // 0: some are ignored, 1: none is; anything else (not a repository, no git) ignores nothing, so nothing is skipped.
  if (run.error || run.status !== 0) return new Set();
  return new Set(splitNul(run.stdout).map((p) => p.toString('latin1')));
}

function splitNul(data: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let start = 0; start < data.length;) {
    let end = data.indexOf(0, start);
    if (end < 0) end = data.length;
    if (end > start) parts.push(data.subarray(start, end));
    start = end + 1;
  }
  return parts;
}

function notARepository(run: SpawnSyncReturns<Buffer>): boolean {
  return (run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' || /not a git repository/i.test(gitMessage(run));
}

function gitMessage(run: SpawnSyncReturns<Buffer>): string {
  return (run.error?.message ?? run.stderr?.toString('utf8') ?? '').trim().split('\n')[0];
}
