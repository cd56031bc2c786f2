import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { FINAL_BLOCK, gzipHeader, gzipTrailer, MAX_STORED_BLOCK, storedBlockHeader } from './gzip';
import { DEFLATE_CHUNK, deflateChunk, OrderedPipeline } from './parallel-deflate';

/**
 * One gzip member written to a file as the archive layer joins pieces (archive/gzip.ts): data to
 * compress is deflated in parallel 1 MiB chunks, each primed with the chunk before it; data that
 * is compressed already (a gzip layer) goes in stored blocks, never deflated again. The bytes
 * depend only on the data and on which calls carried it, never on timing.
 */
export class GzipMemberWriter {
  private readonly fd: number;
  private readonly hash = createHash('sha256');
  private readonly pipeline = new OrderedPipeline<Buffer>((deflated) => this.write(deflated));
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The chunk before, the next chunk's dictionary; none after stored data. */
  private previous: Buffer | undefined;
  private crc = 0;
  private inputSize = 0;
  private size = 0;
  private closed = false;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'w', 0o644);
    this.write(gzipHeader());
  }

  /** Data to compress. */
  async deflate(data: Buffer): Promise<void> {
    this.count(data);
    this.pending.push(data);
    this.pendingBytes += data.length;
    while (this.pendingBytes >= DEFLATE_CHUNK) {
      const all = Buffer.concat(this.pending);
      await this.deflateChunk(all.subarray(0, DEFLATE_CHUNK));
      this.pending = [all.subarray(DEFLATE_CHUNK)];
      this.pendingBytes = all.length - DEFLATE_CHUNK;
    }
  }

  /** Data that does not compress, in stored blocks of 65535 bytes (the last one shorter). */
  async store(data: Buffer): Promise<void> {
    await this.flushDeflate();
    this.count(data);
    for (let at = 0; at < data.length; at += MAX_STORED_BLOCK) {
      const block = data.subarray(at, at + MAX_STORED_BLOCK);
      this.write(storedBlockHeader(block.length));
      this.write(block);
    }
    this.previous = undefined;
  }

  /** Ends the member; returns the file's size and SHA-256, and the data's. */
  async finish(): Promise<{ size: number; sha256: string; dataSize: number }> {
    await this.flushDeflate();
    this.write(FINAL_BLOCK);
    this.write(gzipTrailer(this.crc, this.inputSize));
    this.close();
    return { size: this.size, sha256: this.hash.digest('hex'), dataSize: this.inputSize };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private count(data: Buffer): void {
    this.crc = crc32(data, this.crc);
    this.inputSize += data.length;
  }

  private async flushDeflate(): Promise<void> {
    if (this.pendingBytes > 0) await this.deflateChunk(Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
    await this.pipeline.drain();
  }

  private async deflateChunk(chunk: Buffer): Promise<void> {
    const copy = Buffer.from(chunk);
    await this.pipeline.push(deflateChunk(copy, this.previous));
    this.previous = copy;
  }

  private write(data: Buffer): void {
    this.hash.update(data);
    this.size += data.length;
    for (let done = 0; done < data.length;) done += writeSync(this.fd, data, done);
  }
}
