import { chmodSync, closeSync, existsSync, linkSync, lstatSync, mkdirSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PackagedSection, RootFile } from '../archive/archive-writer';
import { OutputStamp, readOutputStamps, sameOutputStamp } from '../section/artifact-set';
import { AssembleState, FileStamp, reusableFile, sameStamp, stamp } from './state';
import { ReleaseError } from '../support/errors';
import { CopyBatch, CopyFailure, copyFiles, FolderScanRequest, scanFolder, streamVerified } from './folder-copier';
import { MADE_PACK, PackedFile } from '../format/fragment';
import { METHOD_STORE } from '../archive/zip-records';

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
  /** The folder as `startFolderScan` found it, for these sections and root files; otherwise it is scanned here. */
  scanned?: FolderScan;
}

/** What a scan found: for each wanted file (listed as in FolderScanRequest), its stamp, or NaN. */
export interface FolderScan {
  files: string;
  stamps: Float64Array;
}

/** The entries a package folder should hold: the sections' folders and files, then the root files. */
function wantedEntries(folder: string, sections: PackagedSection[], rootPaths: string[]): FolderScanRequest {
  return {
    folder,
    directories: sections.flatMap((s) => s.fragment.directories).join('\0'),
    files: [...sections.flatMap((s) => s.fragment.files.map((f) => f.path)), ...rootPaths].join('\0'),
  };
}

/**
 * Scans `folder` (an earlier package, kept as the spare) on a worker thread, for
 * `writePackageFolder` to lay out the package in it without a stat per file on the calling thread:
 * every entry the package does not have is removed, and each of its files there is stamped. The
 * folder is not touched by anything else until the scan settles (or is aborted).
 */
export function startFolderScan(
  folder: string,
  sections: PackagedSection[],
  rootPaths: string[],
): { scanned: Promise<FolderScan>; abort(): Promise<void> } {
  const request = wantedEntries(folder, sections, rootPaths);
  if (!existsSync(folder))
    return { scanned: Promise.resolve({ files: request.files, stamps: scanFolder(request) }), abort: async () => undefined };
  const worker = new Worker(join(__dirname, 'folder-copier.js'), { workerData: { folderScan: request } });
  const scanned = new Promise<FolderScan>((resolve, reject) => {
    worker.once('message', (result: { stamps: Float64Array } | Extract<CopyFailure, { error: unknown }>) =>
      'stamps' in result
        ? resolve({ files: request.files, stamps: result.stamps })
        : reject(Object.assign(new Error(result.error.message), result.error)),
    );
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the package folder's scan stopped (exit code ${code}) before it finished`)));
  });
  // Marked handled: the caller awaits it, or aborts.
  scanned.catch(() => undefined);
  return { scanned, abort: async () => void (await worker.terminate()) };
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
  const request = wantedEntries(
    folder,
    input.sections,
    input.rootFiles.map((r) => r.path),
  );
  const { files, stamps } = input.scanned ?? { files: request.files, stamps: scanFolder(request) };
  if (files !== request.files) throw new Error(`${folder} was scanned for other files than the package has`);
  /** The stamp the scan found for the index-th file (the sections' files in order, then the root files). */
  const found = (index: number): FileStamp | undefined =>
    Number.isNaN(stamps[4 * index])
      ? undefined
      : { size: stamps[4 * index], mtimeMs: stamps[4 * index + 1], ino: stamps[4 * index + 2], mode: stamps[4 * index + 3] };
  let index = 0;
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
      const there = found(index++);
      // Already the very file the last assembly published (same inode, untouched): nothing to do.
      const recorded = input.previous?.state?.files[file.path];
      if (there && recorded?.sha256 === file.sha256 && recorded.mode === file.mode && sameStamp(there, recorded)) {
        linked.set(file.path, there);
        continue;
      }
      const to = join(folder, file.path);
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
    if (found(index++)) unlinkSync(to);
    writeFileSync(to, root.data, { flag: 'wx', mode: 0o600 });
    chmodSync(to, root.mode);
  }
  // A few files (the usual change) are copied here: starting a worker thread costs more than copying them.
  if (later.files.length <= COPIED_HERE && input.linkedCopy === undefined) {
    const failure = later.files.length ? copyFiles(later.batch(folder, input.workspaceRoot)) : undefined;
    if (failure) throw later.error(failure);
    return { linked, copied: Promise.resolve(), abort: async () => undefined };
  }
  const worker = new Worker(join(__dirname, 'folder-copier.js'), {
    workerData: { folderCopier: { batch: later.batch(folder, input.workspaceRoot), linkedCopy: input.linkedCopy } },
  });
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
    const rerun = "rerun the section's package target";
    if (!file.source) {
      const pack = this.packs[this.pack[failure.index]];
      return failure.reason === 'missing'
        ? new ReleaseError(`is missing, but the section's fragment lists ${file.path} in it`, { file: pack, hint: rerun })
        : new ReleaseError(`changed after its section was packaged (${file.path} no longer matches its SHA-256)`, {
            file: pack,
            hint: 'rerun `npx nx run release:assemble`, which packages it again',
          });
    }
    return failure.reason === 'missing'
      ? new ReleaseError('is missing, but its section was packaged with it', { file: file.source, hint: rerun })
      : changedAfterPackaging(file, file.source);
  }
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
  return new ReleaseError('changed after its section was packaged (its SHA-256 no longer matches)', {
    file: file.source ?? from,
    hint: 'rerun `npx nx run release:assemble`, which packages it again',
  });
}
