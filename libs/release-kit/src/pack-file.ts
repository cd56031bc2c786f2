import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/** Small appends are gathered up to this size into one write: an archive of 20,000 files makes 60,000 of them. */
const WRITE_BUFFER = 1 << 20;

/** An append-only file that knows its length and can drop what it wrote last. */
export class PackFile {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER);
  private buffered = 0;
  length = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w', 0o644);
  }

  append(data: Buffer): void {
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
