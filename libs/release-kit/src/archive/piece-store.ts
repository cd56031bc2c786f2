import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { sha256 } from '../support/digest';
import { isAlive } from '../support/process-alive';
import { writeAtomically } from '../support/write-atomically';
import { deflateOptions } from './compression';
import { DEFLATE_CHUNK } from './parallel-deflate';

/**
 * What decides a piece's bytes besides its input: zlib's version (Node's bundled one), the deflate
 * settings and the parallel chunk size. A store made under other settings is not read.
 */
export const PIECE_SETTINGS = JSON.stringify({ zlib: process.versions.zlib, deflate: deflateOptions(), chunk: DEFLATE_CHUNK });

/**
 * How a piece was made from its input: one deflate of the whole input (keyed by its SHA-256), of a
 * tar batch (keyed by TarBatch.key), or the parallel chunked deflate plus the final block.
 */
export type PieceKind = 'whole' | 'batch' | 'chunked';

const INDEX = 'index.json';
const LOCK = 'store.lock';
const FORMAT = 2;
/** Pieces not used by this run or the one before are dropped. */
const KEEP_RUNS = 2;
/** The pack is rewritten with its live pieces alone once dead bytes outweigh them by this much. */
const COMPACT_SLACK = 16 << 20;
const COPY = 1 << 20;

export interface PieceWriter {
  append(chunk: Buffer): void;
  /** Forgets what was appended: the entry, if committed, holds no bytes. */
  discard(): void;
  commit(meta?: Record<string, number>): void;
}

interface Entry {
  /** Where the piece lies in the pack, in one or more ranges (a streamed piece is appended chunk by chunk). */
  parts: Array<[offset: number, length: number]>;
  /** CRC-32 of the piece, checked on every read: a torn or damaged pack is a miss, never bytes in an archive. */
  crc32: number;
  /** What the caller recorded of the input (its CRC-32 and size, for a large file read without being deflated). */
  meta?: Record<string, number>;
  /** The last run that used it. */
  run: number;
}

interface Index {
  format: typeof FORMAT;
  settings: string;
  pack: string;
  run: number;
  entries: Record<string, Entry>;
  /** Each file of the last run by path: its stat when it was read (see knownFile), SHA-256 and CRC-32. */
  files: Record<string, [stamp: string, sha256: string, crc32: number]>;
}

/** What a file held when it was last read. */
export interface KnownFile {
  sha256: string;
  crc32: number;
}

/**
 * Deflate pieces kept by the SHA-256 of what they compress, so that a section whose files mostly
 * did not change re-deflates only the changed ones. A reused piece is byte-identical to a fresh one:
 * the key names the input bytes and the settings, and deflate is a pure function of both.
 *
 * The store is a pack file and an index, written by one process at a time (a lock file holding its
 * pid); another process finds it locked and works without it. Nothing here fails a build: an
 * unreadable store is an empty one.
 */
export class PieceStore {
  private index: Index;
  private fd: number | undefined;
  private end = 0;
  private locked = false;
  /** The files this run read or found unchanged: the next index's `files`. */
  private readonly files: Index['files'] = {};
  /** Runs once the index that no longer names the old pack is in place (compaction). */
  private afterIndex: (() => void) | undefined;
  hits = 0;
  misses = 0;
  /** Files known by their unchanged stat, and so not read. */
  knownFiles = 0;

  private constructor(private readonly dir: string | undefined) {
    this.index = { format: FORMAT, settings: PIECE_SETTINGS, pack: 'pack-0.bin', run: 0, entries: {}, files: {} };
    if (!dir) return;
    try {
      mkdirSync(dir, { recursive: true });
      if (!this.lock()) return;
      const index = readIndex(join(dir, INDEX));
      if (index) this.index = index;
      // Packs no index names (other settings, a run that died compacting) are garbage.
      for (const name of readdirSync(dir))
        if (/^pack-\d+\.bin$/.test(name) && name !== this.index.pack) rmSync(join(dir, name), { force: true });
      this.index.run += 1;
      this.fd = openSync(join(dir, this.index.pack), 'a+');
      this.end = fstatSync(this.fd).size;
    } catch {
      this.release();
    }
  }

  /** The store in `dir`, or one that keeps nothing when `dir` is undefined or taken by another process. */
  static open(dir: string | undefined): PieceStore {
    return new PieceStore(dir);
  }

  static key(kind: PieceKind, inputSha256: string): string {
    return `${kind}:${inputSha256}`;
  }

  has(key: string): boolean {
    return this.fd !== undefined && Object.hasOwn(this.index.entries, key);
  }

  /**
   * The digests a file had when it was last read, if its stat is the same now (`stamp`: inode, size,
   * mtime and ctime, as git's index compares them); the caller records only stats older than the
   * clock's granularity, so a write cannot hide behind an unchanged one.
   */
  knownFile(path: string, stamp: string): KnownFile | undefined {
    const known = this.fd !== undefined && Object.hasOwn(this.index.files, path) ? this.index.files[path] : undefined;
    if (!known || known[0] !== stamp) return undefined;
    this.files[path] = known;
    this.knownFiles += 1;
    return { sha256: known[1], crc32: known[2] };
  }

  rememberFile(path: string, stamp: string, file: KnownFile): void {
    this.files[path] = [stamp, file.sha256, file.crc32];
  }

  /** What was recorded with the piece; a lookup that finds nothing counts as a miss. */
  meta(key: string): Record<string, number> | undefined {
    return this.has(key) ? this.index.entries[key].meta : this.miss();
  }

  /** The piece, read whole; undefined when the store lacks it or its bytes are damaged. */
  get(key: string): Buffer | undefined {
    const entry = this.has(key) ? this.index.entries[key] : undefined;
    if (!entry) return this.miss();
    const data = Buffer.allocUnsafe(entry.parts.reduce((sum, [, length]) => sum + length, 0));
    let at = 0;
    for (const [offset, length] of entry.parts) {
      if (!this.read(data, at, length, offset)) return this.drop(key);
      at += length;
    }
    if (crc32(data) !== entry.crc32) return this.drop(key);
    entry.run = this.index.run;
    this.hits += 1;
    return data;
  }

  /**
   * Hands the piece to `sink` in chunks of at most 1 MiB, for a piece too large to hold. Returns
   * false (the sink may have had part of it: the caller undoes that) when it is missing or damaged.
   */
  copy(key: string, sink: (chunk: Buffer) => void): boolean {
    const entry = this.has(key) ? this.index.entries[key] : undefined;
    if (!entry) return this.miss() ?? false;
    const buffer = Buffer.allocUnsafe(COPY);
    let crc = 0;
    for (const [offset, length] of entry.parts) {
      for (let done = 0; done < length;) {
        const n = Math.min(COPY, length - done);
        if (!this.read(buffer, 0, n, offset + done)) return this.drop(key) ?? false;
        crc = crc32(buffer.subarray(0, n), crc);
        sink(buffer.subarray(0, n));
        done += n;
      }
    }
    if (crc !== entry.crc32) return this.drop(key) ?? false;
    entry.run = this.index.run;
    this.hits += 1;
    return true;
  }

  put(key: string, piece: Buffer, meta?: Record<string, number>): void {
    const writer = this.writer(key);
    writer.append(piece);
    writer.commit(meta);
  }

  /** A piece written as it is made; nothing is kept unless it is committed. */
  writer(key: string): PieceWriter {
    const parts: Array<[number, number]> = [];
    let crc = 0;
    let ok = this.fd !== undefined;
    return {
      append: (chunk) => {
        if (!ok || chunk.length === 0) return;
        try {
          for (let done = 0; done < chunk.length;) done += writeSync(this.fd!, chunk, done, chunk.length - done, this.end + done);
        } catch {
          ok = false;
          return;
        }
        const last = parts[parts.length - 1];
        if (last && last[0] + last[1] === this.end) last[1] += chunk.length;
        else parts.push([this.end, chunk.length]);
        this.end += chunk.length;
        crc = crc32(chunk, crc);
      },
      discard: () => {
        parts.length = 0;
        crc = 0;
      },
      commit: (meta) => {
        if (ok) this.index.entries[key] = { parts, crc32: crc, run: this.index.run, ...(meta ? { meta } : {}) };
      },
    };
  }

  /** Drops pieces no recent run used, compacts the pack when most of it is dead, and writes the index. */
  close(): void {
    if (this.fd === undefined) return this.release();
    try {
      const live = Object.entries(this.index.entries).filter(([, e]) => e.run > this.index.run - KEEP_RUNS);
      this.index.entries = Object.fromEntries(live);
      this.index.files = this.files;
      const liveBytes = live.reduce((sum, [, e]) => sum + e.parts.reduce((s, [, length]) => s + length, 0), 0);
      if (this.end > 2 * liveBytes + COMPACT_SLACK) this.compact();
      writeAtomically(join(this.dir!, INDEX), JSON.stringify(this.index));
      this.afterIndex?.();
    } catch {
      // the next run finds the last index that was written whole
    } finally {
      this.release();
    }
  }

  private compact(): void {
    const pack = `pack-${this.index.run}.bin`;
    const out = openSync(join(this.dir!, pack), 'w');
    let end = 0;
    try {
      for (const entry of Object.values(this.index.entries)) {
        const parts: Array<[number, number]> = [];
        for (const [offset, length] of entry.parts) {
          const data = Buffer.allocUnsafe(length);
          if (!this.read(data, 0, length, offset)) throw new Error('short pack');
          for (let done = 0; done < length;) done += writeSync(out, data, done, length - done, end + done);
          parts.push([end, length]);
          end += length;
        }
        entry.parts = parts.length > 1 ? [[parts[0][0], end - parts[0][0]]] : parts;
      }
    } finally {
      closeSync(out);
    }
    const old = this.index.pack;
    this.index.pack = pack;
    // The old pack goes once the index that names the new one is in place.
    this.afterIndex = () => rmSync(join(this.dir!, old), { force: true });
  }

  private read(into: Buffer, at: number, length: number, offset: number): boolean {
    for (let got = 0; got < length;) {
      const n = readSync(this.fd!, into, at + got, length - got, offset + got);
      if (n === 0) return false;
      got += n;
    }
    return true;
  }

  private miss(): undefined {
    this.misses += 1;
    return undefined;
  }

  private drop(key: string): undefined {
    delete this.index.entries[key];
    return this.miss();
  }

  /** Takes the lock (a file made with O_EXCL holding our pid), taking over one whose process is gone. */
  private lock(): boolean {
    const lock = join(this.dir!, LOCK);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(lock, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return (this.locked = true);
      } catch {
        const holder = Number(readFileSafe(lock));
        if (isAlive(holder)) return false;
        rmSync(lock, { force: true });
      }
    }
    return false;
  }

  private release(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.afterIndex = undefined;
    if (this.locked) rmSync(join(this.dir!, LOCK), { force: true });
    this.locked = false;
  }
}

function readIndex(file: string): Index | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const index = JSON.parse(readFileSync(file, 'utf8')) as Index;
    const valid = index.format === FORMAT && index.settings === PIECE_SETTINGS && /^pack-\d+\.bin$/.test(index.pack);
    return valid && index.entries && index.files ? index : undefined;
  } catch {
    return undefined;
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The store of a workspace's section: beside Nx's and the bundles' caches, out of dist/, so a clean dist/ keeps it. */
export function pieceStoreDir(workspaceRoot: string, name: string): string {
  return join(workspaceRoot, 'node_modules', '.cache', 'spacetime-pieces', sha256(workspaceRoot).slice(0, 16), name);
}
