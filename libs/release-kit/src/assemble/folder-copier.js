// The package folder's file-system work, which release:assemble runs in a worker thread, on the
// other core, while it does something else:
// - the copies: files that cannot be hard-linked (sources, rendered files), each written new and
//   checked against the SHA-256 its section was packaged with: a file-system call or more per file,
//   made while the archives are written;
// - the scan of the folder an earlier assembly left (the spare): a stat of each of its files, made
//   while the root files (SBOM, MANIFEST.json, signature) are made.
// Plain CommonJS, so that the worker loads it as it is, from source or from a bundle.
'use strict';
const { createHash } = require('node:crypto');
const {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeSync,
} = require('node:fs');
const { join } = require('node:path');
const { isMainThread, parentPort, workerData } = require('node:worker_threads');

/** Allocated once: a section may ship thousands of files. */
const buffer = Buffer.allocUnsafe(1 << 20);

/**
 * Reads `size` bytes of `input` from `offset` (a file from where it is, to its end, when `offset`
 * is null) through a SHA-256, writing them to `output` when given. True when they are exactly
 * `size` bytes with `sha256`.
 */
function streamVerified(input, offset, size, sha256, output) {
  const hash = createHash('sha256');
  let done = 0;
  for (;;) {
    const want = offset === null ? buffer.length : Math.min(buffer.length, size - done);
    const n = want && readSync(input, buffer, 0, want, offset === null ? null : offset + done);
    if (n === 0) break;
    done += n;
    if (done > size) return false;
    hash.update(buffer.subarray(0, n));
    if (output !== undefined) for (let w = 0; w < n;) w += writeSync(output, buffer, w, n - w);
  }
  return done === size && hash.digest('hex') === sha256;
}

/**
 * Makes each file of a batch (see CopyBatch in folder-copier.d.ts): written new, checked, then
 * given its mode. Stops at the first failure and returns it as `{ index, reason }` (`missing`: the
 * source cannot be opened; `changed`: other bytes than packaged) or `{ index, error }` (any other
 * file-system error); undefined when all are made.
 */
function copyFiles(batch) {
  const paths = batch.paths.split('\0');
  const sources = batch.sources.split('\0');
  const packs = batch.packs.map(() => -1);
  try {
    for (let index = 0; index < batch.size.length; index++) {
      const pack = batch.pack[index];
      const size = batch.size[index];
      let input;
      try {
        input =
          pack < 0
            ? openSync(join(batch.root, sources[index]), 'r')
            : packs[pack] >= 0
              ? packs[pack]
              : (packs[pack] = openSync(batch.packs[pack], 'r'));
      } catch {
        return { index, reason: 'missing' };
      }
      try {
        const to = join(batch.folder, paths[index]);
        const output = openSync(to, 'wx', 0o600);
        let same;
        try {
          same = streamVerified(
            input,
            pack < 0 ? null : batch.offset[index],
            size,
            batch.sha256.slice(64 * index, 64 * index + 64),
            output,
          );
        } finally {
          closeSync(output);
        }
        if (!same) return { index, reason: 'changed' };
        chmodSync(to, batch.mode[index]);
      } catch (error) {
        // A write names no file: the one being made is the one to name.
        return systemFailure(index, error, join(batch.folder, paths[index]));
      } finally {
        if (pack < 0) closeSync(input);
      }
    }
    return undefined;
  } finally {
    for (const fd of packs) if (fd >= 0) closeSync(fd);
  }
}

/** A file-system error as a failure, with what the main thread names it by (its code, call and path). */
function systemFailure(index, error, path) {
  return { index, error: { code: error.code, syscall: error.syscall, path: error.path ?? path, message: error.message } };
}

/** Makes `to` a copy of the folder `from` made of hard links: a first build's spare package folder. */
function linkTree(from, to) {
  mkdirSync(to);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) linkTree(join(from, entry.name), join(to, entry.name));
    else linkSync(join(from, entry.name), join(to, entry.name));
  }
}

/** Marks a wanted folder in scanFolder's map, where a wanted file has its index. */
const FOLDER = -1;

/**
 * Scans a package folder (see FolderScanRequest in folder-copier.d.ts): removes every entry that
 * is not wanted as what it is (a folder or a regular file; anything else is removed), and returns
 * what lstat says of each wanted file still there, as FileStamp's four numbers per file, in the
 * order of `files` (NaN for a file not there).
 */
function scanFolder({ folder, directories, files }) {
  const wanted = new Map();
  const wantParents = (path) => {
    for (let slash = path.lastIndexOf('/'); slash > 0 && !wanted.has(path.slice(0, slash)); slash = path.lastIndexOf('/', slash - 1))
      wanted.set(path.slice(0, slash), FOLDER);
  };
  for (const directory of directories ? directories.split('\0') : []) {
    wantParents(directory);
    wanted.set(directory, FOLDER);
  }
  const paths = files ? files.split('\0') : [];
  paths.forEach((path, index) => {
    wantParents(path);
    wanted.set(path, index);
  });
  const stamps = new Float64Array(4 * paths.length).fill(NaN);
  const walk = (dir, prefix) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = prefix + entry.name;
      const want = wanted.get(path);
      const full = join(dir, entry.name);
      if (want === FOLDER && entry.isDirectory()) walk(full, `${path}/`);
      else if (want >= 0 && entry.isFile()) {
        const s = lstatSync(full);
        stamps.set([s.size, s.mtimeMs, s.ino, s.mode & 0o7777], 4 * want);
      } else rmSync(full, { recursive: true, force: true });
    }
  };
  if (existsSync(folder)) walk(folder, '');
  return stamps;
}

/** As a worker: the copies, then, when they all succeeded, the linked copy of the whole folder. */
function work({ batch, linkedCopy }) {
  const failure = copyFiles(batch);
  if (failure || linkedCopy === undefined) return failure;
  try {
    linkTree(batch.folder, linkedCopy);
  } catch (error) {
    return systemFailure(-1, error);
  }
  return undefined;
}

if (!isMainThread && workerData && workerData.folderCopier) parentPort.postMessage(work(workerData.folderCopier) ?? null);
if (!isMainThread && workerData && workerData.folderScan) {
  let scanned;
  try {
    scanned = { stamps: scanFolder(workerData.folderScan) };
  } catch (error) {
    scanned = systemFailure(-1, error);
  }
  parentPort.postMessage(scanned, scanned.stamps ? [scanned.stamps.buffer] : []);
}

module.exports = { copyFiles, scanFolder, streamVerified };
