import { constants, crc32, deflateRawSync } from 'node:zlib';
import { deflateOptions } from './compression';

/**
 * One gzip member (RFC 1952) with every header field fixed (no name, mtime 0, XFL 0, OS 3), whose
 * deflate stream (RFC 1951) is joined, as pigz joins it, from pieces compressed apart: every piece
 * starts with no history and ends byte-aligned with a sync flush (an empty stored block) and no
 * final block, so that pieces concatenate; the stream ends with an empty final block, and the
 * trailer's CRC-32 combines the pieces' CRCs. A zip entry holds one piece and the final block.
 */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

export function gzipHeader(): Buffer {
  return Buffer.from(GZIP_HEADER);
}

export function gzipTrailer(crc32: number, uncompressedSize: number): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32 >>> 0, 0);
  trailer.writeUInt32LE(uncompressedSize % 2 ** 32, 4);
  return trailer;
}

/** An empty final block with fixed codes: what ends a stream of pieces. */
export const FINAL_BLOCK: Readonly<Buffer> = Buffer.from([0x03, 0x00]);

/** A joinable piece of `data`: raw deflate ending in a sync flush, compressed on this thread. */
export function deflatePieceSync(data: Buffer): Buffer {
  return deflateRawSync(data, { ...deflateOptions(), finishFlush: constants.Z_SYNC_FLUSH });
}

/** One whole gzip member of `data`. */
export function gzipMember(data: Buffer): Buffer {
  return Buffer.concat([gzipHeader(), deflatePieceSync(data), FINAL_BLOCK, gzipTrailer(crc32(data), data.length)]);
}

export const MAX_STORED_BLOCK = 0xffff;

/**
 * The header of a non-final stored block (RFC 1951 section 3.2.4). Content that does not compress
 * (image layers, packed assets) is framed in blocks of exactly 65535 bytes, the last one shorter,
 * so that it is stored once and never deflated again; the framing depends only on the length.
 */
export function storedBlockHeader(length: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt16LE(length, 1);
  header.writeUInt16LE(~length & 0xffff, 3);
  return header;
}

/** The smallest padding deflatePadding makes for any size from it on. */
export const MIN_DEFLATE_PADDING = 13;

/**
 * Exactly `size` bytes (13 or more) of empty deflate blocks: padding inside the stream that reads
 * as no data. An empty stored block is 5 bytes; k empty fixed blocks (10 bits each) before one
 * make a group of ceil((10k + 3) / 8) + 4 bytes, so groups of 6, 7 and 9 bytes give every
 * remainder modulo 5.
 */
export function deflatePadding(size: number): Buffer {
  if (!Number.isInteger(size) || size < MIN_DEFLATE_PADDING) throw new RangeError(`deflate padding of ${size} bytes`);
  const groups = { 0: [], 1: [1], 2: [2], 3: [1, 2], 4: [3] }[(size % 5) as 0 | 1 | 2 | 3 | 4];
  const bits = new BitWriter(size);
  for (const fixedBlocks of groups) emptyGroup(bits, fixedBlocks);
  while (bits.length < size) emptyGroup(bits, 0);
  return bits.done();
}

/** `fixedBlocks` empty fixed-code blocks, then an empty stored block that ends the group byte-aligned. */
function emptyGroup(bits: BitWriter, fixedBlocks: number): void {
  for (let i = 0; i < fixedBlocks; i++) bits.write(0b0000000_01_0, 10); // BFINAL 0, BTYPE 01, end-of-block code 0000000
  bits.write(0b00_0, 3); // BFINAL 0, BTYPE 00
  bits.align();
  bits.bytes(0x00, 0x00, 0xff, 0xff); // LEN 0, NLEN
}

/** Writes bits least significant first, as deflate packs them. */
class BitWriter {
  private readonly buffer: Buffer;
  private byte = 0;
  private used = 0;
  length = 0;

  constructor(size: number) {
    this.buffer = Buffer.alloc(size);
  }

  write(value: number, count: number): void {
    for (let i = 0; i < count; i++) {
      this.used += 1;
      if ((value >> i) & 1) this.byte |= 1 << (this.used - 1);
      if (this.used === 8) this.align();
    }
  }

  align(): void {
    if (this.used === 0) return;
    this.buffer[this.length++] = this.byte;
    this.byte = 0;
    this.used = 0;
  }

  bytes(...values: number[]): void {
    for (const value of values) this.buffer[this.length++] = value;
  }

  done(): Buffer {
    if (this.length !== this.buffer.length) throw new Error(`deflate padding came out ${this.length} bytes, not ${this.buffer.length}`);
    return this.buffer;
  }
}
