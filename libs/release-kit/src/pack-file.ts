import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/** An append-only file that knows its length and can drop what it wrote last. */
export class PackFile {
  private readonly fd: number;
  length = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w', 0o644);
  }

  append(data: Buffer): void {
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written, data.length - written, this.length + written);
    this.length += data.length;
  }

  truncate(length: number): void {
    ftruncateSync(this.fd, length);
    this.length = length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
