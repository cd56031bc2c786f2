import { closeSync, constants, existsSync, fchmodSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

/** Small appends are gathered up to this size into one write: an archive of 20,000 files makes 60,000 of them. */
const WRITE_BUFFER = 1 << 21;

/** O_DIRECT wants offsets, lengths and memory aligned to the device's block; 4 KiB covers every common one. */
const DIRECT_BLOCK = 4096;

/** Node's global WebAssembly.Memory, which this workspace's TypeScript libs (no DOM) leave untyped. */
const WasmMemory = (
  globalThis as unknown as { WebAssembly: { Memory: new (pages: { initial: number; maximum: number }) => { buffer: ArrayBuffer } } }
).WebAssembly.Memory;

/**
 * Memory aligned to a page, which Buffer.allocUnsafe does not promise: a WebAssembly memory
 * (64 KiB pages) always starts on one.
 */
function alignedBuffer(size: number): Buffer {
  const pages = Math.ceil(size / 65536);
  return Buffer.from(new WasmMemory({ initial: pages, maximum: pages }).buffer);
}

export interface PackFileOptions {
  /**
   * Write over an existing file from its start and cut it to length on close, instead of
   * truncating it first: its blocks are reused rather than freed and allocated again.
   */
  overwrite?: boolean;
  /**
   * Write around the page cache (O_DIRECT), for a large output that this process does not read
   * back. On a VM whose fresh pages each cost a fault in the host, a buffered write of new data
   * runs at the speed of page allocation and a direct one at the disk's; either way the archive no
   * longer evicts the workspace's cached files.
   * A file system that refuses O_DIRECT gets buffered writes.
   */
  direct?: boolean;
  /**
   * A second file, made new, that gets every write: a copy made in the same pass, without reading
   * the first back. Only for a file made new too.
   */
  mirror?: string;
}

/**
 * An append-only file that knows its length. Appends are gathered in one buffer that holds the
 * file from `bufferStart`. In direct mode every write is of whole blocks: `bufferStart` stays on a
 * block boundary, and a partial last block stays buffered until the appends fill it, or is
 * completed from the bytes the file already holds when they are kept.
 */
export class PackFile {
  private fd: number;
  private mirror: { path: string; fd: number } | undefined;
  private direct = false;
  private readonly block: number;
  private readonly buffer: Buffer;
  private readonly scratch: Buffer | undefined;
  private bufferStart = 0;
  private buffered = 0;
  private readonly overwrite: boolean;
  length = 0;

  constructor(
    readonly path: string,
    options: PackFileOptions = {},
  ) {
    this.overwrite = !!options.overwrite;
    const fresh = constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC;
    const flags = this.overwrite && existsSync(path) ? constants.O_RDWR : fresh;
    // Written over, the file would keep bytes that the mirror never gets.
    if (options.mirror !== undefined && flags !== fresh) throw new Error(`${path}: a mirror is for a new file, not one written over`);
    // O_DIRECT is Linux's (undefined elsewhere, where the writes are simply buffered).
    this.fd = options.direct && constants.O_DIRECT !== undefined ? this.openDirect(flags) : -1;
    if (this.fd === -1) this.fd = openSync(path, flags, 0o644);
    this.block = this.direct ? DIRECT_BLOCK : 1;
    this.buffer = this.direct ? alignedBuffer(WRITE_BUFFER) : Buffer.allocUnsafe(WRITE_BUFFER);
    this.scratch = this.direct ? alignedBuffer(DIRECT_BLOCK) : undefined;
    if (this.overwrite) fchmodSync(this.fd, 0o644);
    if (options.mirror !== undefined) {
      this.mirror = { path: options.mirror, fd: openSync(options.mirror, fresh | (this.direct ? constants.O_DIRECT : 0), 0o644) };
    }
  }

  /** Leaves the next `length` bytes as the file being written over already holds them. */
  keep(length: number): void {
    if (!this.overwrite) throw new Error(`${this.path}: only a file written over has bytes to keep`);
    this.flush(true);
    this.length += length;
    this.startBufferAt(this.length);
  }

  append(data: Buffer): void {
    for (let done = 0; done < data.length;) {
      if (this.buffered === this.buffer.length) this.flush(false);
      const n = data.copy(this.buffer, this.buffered, done);
      this.buffered += n;
      done += n;
    }
    this.length += data.length;
  }

  /** Drops everything after `length`. */
  truncate(length: number): void {
    this.flush(false);
    for (const fd of this.fds()) ftruncateSync(fd, length);
    this.length = length;
    this.startBufferAt(length);
  }

  close(): void {
    try {
      this.flush(false);
      // Direct writes end on a whole block, and an overwritten file may have been longer.
      if (this.overwrite || this.block > 1) for (const fd of this.fds()) ftruncateSync(fd, this.length);
    } finally {
      for (const fd of this.fds()) closeSync(fd);
    }
  }

  private fds(): number[] {
    return this.mirror ? [this.fd, this.mirror.fd] : [this.fd];
  }

  /**
   * Writes what is buffered, the partial last block included, and keeps that block buffered for
   * the appends that follow. With `keepFileBytes` the rest of that block is the file's own bytes
   * (they are about to be kept); otherwise appends or the final cut will replace it.
   */
  private flush(keepFileBytes: boolean): void {
    if (this.buffered === 0) return;
    const whole = this.buffered - (this.buffered % this.block);
    let end = this.buffered;
    if (whole < this.buffered) {
      end = whole + this.block;
      this.buffer.fill(0, this.buffered, end);
      if (keepFileBytes) {
        const got = this.read(this.scratch!, this.bufferStart + whole);
        this.scratch!.copy(this.buffer, this.buffered, this.buffered - whole, Math.max(got, this.buffered - whole));
      }
    }
    this.write(this.buffer.subarray(0, end), this.bufferStart);
    this.buffer.copyWithin(0, whole, this.buffered);
    this.bufferStart += whole;
    this.buffered -= whole;
  }

  /** Points the buffer at `offset`, holding the file's bytes of its block before it. */
  private startBufferAt(offset: number): void {
    this.bufferStart = offset - (offset % this.block);
    this.buffered = offset - this.bufferStart;
    if (this.buffered > 0 && this.read(this.buffer, this.bufferStart) < this.buffered) {
      throw new Error(`${this.path} is shorter than the ${offset} bytes being kept`);
    }
  }

  /** Reads the block at `position` into the start of `into`; returns how many bytes the file had (fewer at its end). */
  private read(into: Buffer, position: number): number {
    return readSync(this.fd, into, 0, this.block, position);
  }

  private write(data: Buffer, position: number): void {
    const direct = this.direct;
    this.fd = this.writeAll(this.fd, this.path, data, position, direct);
    if (this.mirror) this.mirror.fd = this.writeAll(this.mirror.fd, this.mirror.path, data, position, direct);
  }

  /** Writes all of `data`; returns the fd to go on with, a buffered one if the file system refused a direct write. */
  private writeAll(fd: number, path: string, data: Buffer, position: number, direct: boolean): number {
    for (let written = 0; written < data.length;) {
      try {
        written += writeSync(fd, data, written, data.length - written, position + written);
      } catch (error) {
        // Some file systems open with O_DIRECT and then refuse the write: go on buffered.
        if (!direct || (error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
        const buffered = openSync(path, constants.O_RDWR);
        closeSync(fd);
        fd = buffered;
        direct = this.direct = false;
      }
    }
    return fd;
  }

  private openDirect(flags: number): number {
    try {
      const fd = openSync(this.path, flags | constants.O_DIRECT, 0o644);
      this.direct = true;
      return fd;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EINVAL') return -1;
      throw error;
    }
  }
}
