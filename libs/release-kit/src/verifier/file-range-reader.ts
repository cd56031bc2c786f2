import { FileHandle } from 'node:fs/promises';

const CHUNK = 1 << 20;

/** Reads a byte range of an open file front to back, through a buffer of its own. */
export class FileRangeReader {
  private buffer = Buffer.alloc(0);
  /** File offset of buffer[0]. */
  private bufferAt: number;

  constructor(
    private readonly file: FileHandle,
    /** Where the next byte taken lies. */
    public position: number,
    /** Where the range ends: nothing at or after it is read. */
    private readonly end: number,
  ) {
    this.bufferAt = position;
  }

  get left(): number {
    return this.end - this.position;
  }

  /** The next `length` bytes, or undefined when the range holds fewer. */
  async take(length: number): Promise<Buffer | undefined> {
    if (length > this.left) return undefined;
    const pieces: Buffer[] = [];
    for await (const piece of this.pieces(length)) pieces.push(piece);
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
  }

  /** The next `length` bytes as pieces of at most 1 MiB, each valid until the next is asked for. */
  async *pieces(length: number): AsyncGenerator<Buffer> {
    if (length > this.left) throw new Error(`unexpected end of the range at ${this.position}`);
    let left = length;
    while (left > 0) {
      let start = this.position - this.bufferAt;
      if (start >= this.buffer.length) {
        await this.fill();
        start = 0;
      }
      const n = Math.min(left, this.buffer.length - start);
      const piece = this.buffer.subarray(start, start + n);
      this.position += n;
      left -= n;
      yield piece;
    }
  }

  advance(length: number): void {
    if (length > this.left) throw new Error(`unexpected end of the range at ${this.position}`);
    this.position += length;
  }

  private async fill(): Promise<void> {
    const want = Math.min(CHUNK, this.end - this.position);
    const buffer = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.file.read(buffer, got, want - got, this.position + got);
      if (bytesRead === 0) throw new Error(`the file ends at ${this.position + got}, before its records say`);
      got += bytesRead;
    }
    this.buffer = buffer;
    this.bufferAt = this.position;
  }
}
