import { crc32, deflateRawSync } from 'node:zlib';
import { deflateOptions } from './compression';

/**
 * gzip members (RFC 1952) with every header field fixed: no name, mtime 0, XFL 0, OS 3 (Unix).
 * A .tar.gz here is a sequence of such members; `gzip -d` and `tar` read it as one stream.
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

export const MAX_STORED_BLOCK = 0xffff;

/**
 * The header of a deflate stored block (RFC 1951 section 3.2.4). Content that does not compress
 * (image layers, packed assets) is framed in blocks of exactly 65535 bytes, the last one shorter
 * and final, so that it is stored once and never deflated again; the framing depends only on
 * the length.
 */
export function storedBlockHeader(length: number, final: boolean): Buffer {
  const header = Buffer.alloc(5);
  header[0] = final ? 0x01 : 0x00;
  header.writeUInt16LE(length, 1);
  header.writeUInt16LE(~length & 0xffff, 3);
  return header;
}

/** The pieces of one gzip member around raw deflate data of `size` bytes with that CRC-32, to append in order. */
export function gzipMemberPieces(deflated: Buffer, crc32: number, size: number): Buffer[] {
  return [gzipHeader(), deflated, gzipTrailer(crc32, size)];
}

/** One whole gzip member of `data`, with the fixed header. */
export function gzipMember(data: Buffer): Buffer {
  return Buffer.concat(gzipMemberPieces(deflateRawSync(data, deflateOptions()), crc32(data), data.length));
}

/** The smallest padding member: header, XLEN, one empty subfield, an empty deflate block, trailer. */
export const MIN_GZIP_PADDING = 26;

/**
 * An empty gzip member of exactly `size` bytes (26 to 65557), the rest of its FEXTRA field zeros:
 * padding that `gzip -d` and `tar` read as no data.
 */
export function gzipPadding(size: number): Buffer {
  if (size < MIN_GZIP_PADDING || size > 22 + 0xffff) throw new RangeError(`gzip padding of ${size} bytes`);
  const member = Buffer.alloc(size);
  GZIP_HEADER.copy(member);
  member[3] = 0x04; // FLG.FEXTRA
  member.writeUInt16LE(size - 22, 10);
  member.write('PD', 12, 'latin1'); // the subfield's id, then its length
  member.writeUInt16LE(size - MIN_GZIP_PADDING, 14);
  member[size - 10] = 0x03; // a final, empty fixed-Huffman block; CRC-32 and size of nothing are 0
  return member;
}
