import { closeSync, existsSync, fchmodSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/** Small appends are gathered up to this size into one write: an archive of 20,000 files makes 60,000 of them. */
const WRITE_BUFFER = 1 << 20;

/**
 * An append-only file that knows its length and can drop what it wrote last. With `overwrite`, an
 * existing file is written over from its start and cut to length on close, instead of being
 * truncated first: its blocks are reused rather than freed and allocated again.
 */
export class PackFile {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER);
  private buffered = 0;
  private dryRun = false;
  length = 0;

  constructor(
    readonly path: string,
    private readonly overwrite = false,
  ) {
    this.fd = openSync(path, overwrite && existsSync(path) ? 'r+' : 'w', 0o644);
    if (overwrite) fchmodSync(this.fd, 0o644);
  }

  /** While dry, appends only count: the file being written over already holds those bytes. */
  get dry(): boolean {
    return this.dryRun;
  }

  setDry(dry: boolean): void {
    this.flush();
    this.dryRun = dry && this.overwrite;
  }

  /** Counts `length` bytes that the file already holds; only while dry. */
  skip(length: number): void {
    if (!this.dryRun) throw new Error(`${this.path}: skip outside a dry run`);
    this.length += length;
  }

  append(data: Buffer): void {
    if (this.dryRun) {
      this.length += data.length;
      return;
    }
    if (data.length >= WRITE_BUFFER / 2) {
      this.flush();
      this.write(data, this.length);
    } else {
      if (this.buffered + data.length > WRITE_BUFFER) this.flush();
      this.buffered += data.copy(this.buffer, this.buffered);
    }
    this.length += data.length;
  }

  truncate(length: number): void {
    this.flush();
    ftruncateSync(this.fd, length);
    this.length = length;
  }

  close(): void {
    try {
      this.flush();
      if (this.overwrite) ftruncateSync(this.fd, this.length);
    } finally {
      closeSync(this.fd);
    }
  }

  private flush(): void {
    this.write(this.buffer.subarray(0, this.buffered), this.length - this.buffered);
    this.buffered = 0;
  }

  private write(data: Buffer, position: number): void {
    for (let written = 0; written < data.length; ) written += writeSync(this.fd, data, written, data.length - written, position + written);
  }
}
