// The package folder's copies: files that cannot be hard-linked (sources, rendered files), each
// written new and checked against the SHA-256 its section was packaged with. A cold assembly of
// 20,000 documents creates 20,000 files, 2 to 7 s of file-system calls on this VM: release:assemble
// runs them in a worker thread, on the other core, while it writes the archives, which only wait
// for the disk. Plain CommonJS, so that the worker loads it as it is, from source or from a bundle.
'use strict';
const { createHash } = require('node:crypto');
const { chmodSync, closeSync, linkSync, mkdirSync, openSync, readdirSync, readSync, writeSync } = require('node:fs');
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
    if (output !== undefined) for (let w = 0; w < n; ) w += writeSync(output, buffer, w, n - w);
  }
  return done === size && hash.digest('hex') === sha256;
}

/**
 * Makes each job's file: `{ to, mode, size, sha256 }` with either `from` (a file, read whole) or
 * `pack` and `offset` (a range of a section's made-files pack). Stops at the first failure and
 * returns it as `{ index, reason }` (`missing`: the source cannot be opened; `changed`: other
 * bytes than packaged) or `{ index, error }` (any other file-system error); undefined when all are made.
 */
function copyFiles(jobs) {
  const packs = new Map();
  try {
    for (const [index, job] of jobs.entries()) {
      let input;
      try {
        input = job.pack === undefined ? openSync(job.from, 'r') : packs.get(job.pack) ?? packs.set(job.pack, openSync(job.pack, 'r')).get(job.pack);
      } catch {
        return { index, reason: 'missing' };
      }
      try {
        const output = openSync(job.to, 'wx', 0o600);
        let same;
        try {
          same = streamVerified(input, job.pack === undefined ? null : job.offset, job.size, job.sha256, output);
        } finally {
          closeSync(output);
        }
        if (!same) return { index, reason: 'changed' };
        chmodSync(job.to, job.mode);
      } catch (error) {
        return { index, error: { code: error.code, message: error.message } };
      } finally {
        if (job.pack === undefined) closeSync(input);
      }
    }
    return undefined;
  } finally {
    for (const fd of packs.values()) closeSync(fd);
  }
}

/** Makes `to` a copy of the folder `from` made of hard links: a first build's spare package folder. */
function linkTree(from, to) {
  mkdirSync(to);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) linkTree(join(from, entry.name), join(to, entry.name));
    else linkSync(join(from, entry.name), join(to, entry.name));
  }
}

/** As a worker: the copies, then, when they all succeeded, the linked copy of the whole folder. */
function work({ jobs, folder, linkedCopy }) {
  const failure = copyFiles(jobs);
  if (failure || linkedCopy === undefined) return failure;
  try {
    linkTree(folder, linkedCopy);
  } catch (error) {
    return { index: -1, error: { code: error.code, message: error.message } };
  }
  return undefined;
}

if (!isMainThread && workerData && workerData.folderCopier) parentPort.postMessage(work(workerData.folderCopier) ?? null);

module.exports = { copyFiles, linkTree, streamVerified };
