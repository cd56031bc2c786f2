import { once } from 'node:events';
import { constants, createDeflateRaw, crc32 } from 'node:zlib';
import { PackFile } from './pack-file';

export const DEFLATE_LEVEL = 6;

export function deflateOptions() {
  return { level: DEFLATE_LEVEL, memLevel: 8, windowBits: 15, strategy: constants.Z_DEFAULT_STRATEGY };
}

/**
 * Streams bytes through one raw deflate into a pack file, keeping the CRC-32 and length of the
 * uncompressed bytes and the compressed length. Backpressure keeps memory flat.
 */
export class DeflateSink {
  private readonly deflate = createDeflateRaw(deflateOptions());
  private readonly start: number;
  crc32 = 0;
  size = 0;

  constructor(private readonly pack: PackFile) {
    this.start = pack.length;
    this.deflate.on('data', (chunk: Buffer) => pack.append(chunk));
  }

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.crc32 = crc32(chunk, this.crc32);
    this.size += chunk.length;
    if (!this.deflate.write(chunk)) await once(this.deflate, 'drain');
  }

  /** Finishes the stream; returns the compressed length. */
  async end(): Promise<number> {
    const done = once(this.deflate, 'end');
    this.deflate.end();
    await done;
    return this.pack.length - this.start;
  }
}
