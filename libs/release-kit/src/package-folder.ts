import { chmodSync, closeSync, existsSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PackagedSection, RootFile } from './archive-writer';
import { OutputStamp, readOutputStamps, sameOutputStamp } from './artifact-set';
import { AssembleState, FileStamp, reusableFile, sameStamp, stamp } from './assemble-state';
import { ReleaseError } from './errors';
import { CopyBatch, CopyFailure, copyFiles, streamVerified } from './folder-copier';
import { MADE_PACK, PackedFile } from './fragment';
import { METHOD_STORE } from './zip-records';

/** At most this many files are copied on the calling thread; more go to the worker (see `writePackageFolder`). */
const COPIED_HERE = 64;

export interface PackageFolderInput {
  workspaceRoot: string;
  sections: PackagedSection[];
  rootFiles: RootFile[];
  /** The package folder and state of the previous assembly, whose unchanged files are linked. */
  previous?: { packageDir: string; state: AssembleState | undefined };
  /** Where to make a copy of the finished folder out of hard links (a first build's spare), if anywhere. */
  linkedCopy?: string;
}

export interface PlacedFolder {
  /** The stamps of the linked files, which need no stat again. */
  linked: Map<string, FileStamp>;
  /** Settles when every copied file (and the linked copy) is in place: most are made on another thread (folder-copier.js). */
  copied: Promise<void>;
  /** Stops the copying, for a caller that failed meanwhile and removes the folder. */
  abort(): Promise<void>;
}

/**
 * Lays out the package folder. `folder` may hold an older package (the spare, see
 * `swapIntoPlace`): it is updated in place, so a release of 20,000 files whose one file changed
 * costs a stat per file instead of a link and an unlink. A file unchanged since the previous
 * assembly is kept when the folder already holds that very file, and hard-linked from it otherwise.
 * A build output (an image tarball, an exported server) is hard-linked from its target's output
 * folder; any other file is copied from the workspace (or the section's made-files pack). Either
 * way its SHA-256 is checked, so that a file edited after its section was packaged can never ship
 * under an old hash. Nothing in `folder` is written through: an entry is replaced, never
 * overwritten, because the spare and the build outputs share their inodes with the published
 * package. Most copies are made on another thread: see PlacedFolder.
 */
export function writePackageFolder(folder: string, input: PackageFolderInput): PlacedFolder {
  const linked = new Map<string, FileStamp>();
  const wanted = new Map<string, 'dir' | 'file'>();
  const want = (path: string, kind: 'dir' | 'file') => {
    for (let dir = dirname(path); dir !== '.' && !wanted.has(dir); dir = dirname(dir)) wanted.set(dir, 'dir');
    wanted.set(path, kind);
  };
  for (const { fragment } of input.sections) {
    for (const dir of fragment.directories) want(dir, 'dir');
    for (const file of fragment.files) want(file.path, 'file');
  }
  for (const root of input.rootFiles) want(root.path, 'file');
  const present = removeUnwanted(folder, wanted);
  mkdirSync(folder, { recursive: true });
  chmodSync(folder, 0o755);
  // The archives read stored (uncompressed) content from this folder, so those copies are made
  // now; the others in a worker thread, while the caller writes the archives.
  const now = new CopyList();
  const later = new CopyList();
  for (const { fragment, outputDir } of input.sections) {
    const hashed = fragment.files.some((f) => f.buildOutput) ? readOutputStamps(outputDir) : {};
    for (const dir of fragment.directories) {
      mkdirSync(join(folder, dir), { recursive: true });
      chmodSync(join(folder, dir), 0o755);
    }
    for (const file of fragment.files) {
      const to = join(folder, file.path);
      const there = present.has(file.path);
      // Already the very file the last assembly published (same inode, untouched): nothing to do.
      const recorded = input.previous?.state?.files[file.path];
      if (there && recorded?.sha256 === file.sha256 && recorded.mode === file.mode) {
        const now = stamp(to);
        if (now && sameStamp(now, recorded)) {
          linked.set(file.path, now);
          continue;
        }
      }
      const previous = input.previous && reusableFile(input.previous.state, input.previous.packageDir, file.path, file.sha256, file.mode);
      if (there) unlinkSync(to);
      if (previous) {
        linkSync(previous.file, to);
        linked.set(file.path, previous.stamp);
        continue;
      }
      if (file.source && file.buildOutput) {
        const stamp = linkVerified(file, join(input.workspaceRoot, file.source), to, hashed[file.path]);
        if (stamp) {
          linked.set(file.path, stamp);
          continue;
        }
      }
      (file.method === METHOD_STORE && file.size > 0 ? now : later).add(file, outputDir);
    }
  }
  const failure = copyFiles(now.batch(folder, input.workspaceRoot));
  if (failure) throw now.error(failure);
  for (const root of input.rootFiles) {
    const to = join(folder, root.path);
    mkdirSync(dirname(to), { recursive: true });
    if (present.has(root.path)) unlinkSync(to);
    writeFileSync(to, root.data, { flag: 'wx', mode: 0o600 });
    chmodSync(to, root.mode);
  }
  // A few files (the usual change) are copied here: a worker thread costs about 50 ms to start.
  if (later.files.length <= COPIED_HERE && input.linkedCopy === undefined) {
    const failure = later.files.length ? copyFiles(later.batch(folder, input.workspaceRoot)) : undefined;
    if (failure) throw later.error(failure);
    return { linked, copied: Promise.resolve(), abort: async () => undefined };
  }
  const worker = new Worker(join(__dirname, 'folder-copier.js'), { workerData: { folderCopier: { batch: later.batch(folder, input.workspaceRoot), linkedCopy: input.linkedCopy } } });
  const copied = new Promise<void>((resolve, reject) => {
    worker.once('message', (failure: CopyFailure | null) => (failure ? reject(later.error(failure)) : resolve()));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the package folder's copier stopped (exit code ${code}) before it finished`)));
  });
  // Marked handled: the caller awaits it after writing the archives, or aborts.
  copied.catch(() => undefined);
  return {
    linked,
    copied,
    abort: async () => {
      await worker.terminate();
    },
  };
}

/** Files to copy into the folder, gathered into a CopyBatch, with each one's packaged record for messages. */
class CopyList {
  readonly files: PackedFile[] = [];
  private readonly packs: string[] = [];
  private readonly pack: number[] = [];

  add(file: PackedFile, outputDir: string): void {
    this.files.push(file);
    if (file.source) return void this.pack.push(-1);
    const pack = join(outputDir, MADE_PACK);
    if (!this.packs.includes(pack)) this.packs.push(pack);
    this.pack.push(this.packs.indexOf(pack));
  }

  batch(folder: string, root: string): CopyBatch {
    const { files } = this;
    return {
      folder,
      root,
      packs: this.packs,
      paths: files.map((f) => f.path).join('\0'),
      sources: files.map((f) => f.source ?? '').join('\0'),
      pack: Int32Array.from(this.pack),
      offset: Float64Array.from(files, (f) => f.made?.[0] ?? 0),
      size: Float64Array.from(files, (f) => f.size),
      mode: Uint16Array.from(files, (f) => f.mode),
      sha256: files.map((f) => f.sha256).join(''),
    };
  }

  error(failure: CopyFailure): Error {
    // A file-system error keeps what fileSystemError names it by (its code, call and path).
    if ('error' in failure) return Object.assign(new Error(failure.error.message), failure.error);
    const file = this.files[failure.index];
    const rerun = 'rerun the section\'s package target';
    if (!file.source) {
      const pack = this.packs[this.pack[failure.index]];
      return failure.reason === 'missing'
        ? new ReleaseError(`is missing, but the section's fragment lists ${file.path} in it`, pack, undefined, rerun)
        : new ReleaseError(`changed after its section was packaged (${file.path} no longer matches its SHA-256)`, pack, undefined, 'rerun `npx nx run release:assemble`, which packages it again');
    }
    return failure.reason === 'missing' ? new ReleaseError('is missing, but its section was packaged with it', file.source, undefined, rerun) : changedAfterPackaging(file, file.source);
  }
}

/**
 * Removes every entry of `folder` that the package does not have as the same kind (a folder or a
 * regular file; anything else is removed), and returns the paths of the files that stay.
 */
function removeUnwanted(folder: string, wanted: Map<string, 'dir' | 'file'>): Set<string> {
  const files = new Set<string>();
  if (!existsSync(folder)) return files;
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = prefix + entry.name;
      const kind = entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : undefined;
      if (!kind || wanted.get(path) !== kind) rmSync(join(dir, entry.name), { recursive: true, force: true });
      else if (kind === 'dir') walk(join(dir, entry.name), `${path}/`);
      else files.add(path);
    }
  };
  walk(folder, '');
  return files;
}

/**
 * Links a build output into the folder, with its mode already the package's. Its bytes are not
 * written again, and not even read when it still has the stamp it had when its section's package
 * target hashed it; otherwise they are hashed as a copy would be. Returns undefined when it cannot
 * be linked (another file system, another mode), for the caller to copy it.
 */
function linkVerified(file: PackedFile, from: string, to: string, hashedAs: OutputStamp | undefined): FileStamp | undefined {
  const now = lstatSync(from, { throwIfNoEntry: false });
  if (!now?.isFile() || (now.mode & 0o7777) !== file.mode) return undefined;
  const before: FileStamp = { size: now.size, mtimeMs: now.mtimeMs, ino: now.ino, mode: file.mode };
  try {
    linkSync(from, to);
  } catch (error) {
    if (['EXDEV', 'EPERM', 'EMLINK'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
  if (!sameOutputStamp({ ...before, ctimeMs: now.ctimeMs }, hashedAs)) {
    const input = openSync(to, 'r');
    try {
      if (!streamVerified(input, null, file.size, file.sha256)) throw changedAfterPackaging(file, from);
    } finally {
      closeSync(input);
    }
  }
  // The same stamp after the link (and the read): nothing wrote through the file meanwhile.
  if (!sameStamp(stamp(to), before)) throw changedAfterPackaging(file, from);
  return before;
}

function changedAfterPackaging(file: PackedFile, from: string): ReleaseError {
  return new ReleaseError('changed after its section was packaged (its SHA-256 no longer matches)', file.source ?? from, undefined, 'rerun `npx nx run release:assemble`, which packages it again');
}
