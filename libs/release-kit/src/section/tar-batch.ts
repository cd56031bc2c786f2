import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { crc32Combine } from '../archive/crc32-combine';
import { sha256 } from '../support/digest';
import { ReleaseError } from '../support/errors';

/**
 * A file's content in a tar batch: in memory, or on disk known by the SHA-256 and CRC-32 it had
 * when it was last read (its stat unchanged since), and read only if the batch must be deflated.
 */
export interface BatchContent {
  size: number;
  sha256: string;
  crc32: number;
  bytes?: Buffer;
  /** The file to read when `bytes` is not held, and how messages name it. */
  file?: string;
  origin: string;
}

type BatchPart = { bytes: Buffer } | { content: BatchContent };

/**
 * The tar headers, small files' contents and paddings that make one deflate piece of a section's tar
 * stream. Its key names those bytes without reading a file: each file content by its SHA-256, every
 * other part by its bytes. So an unchanged batch is found in the piece store even when none of its
 * files was read.
 */
export class TarBatch {
  private readonly parts: BatchPart[] = [];
  size = 0;

  addBytes(...parts: Buffer[]): void {
    for (const bytes of parts) {
      this.parts.push({ bytes });
      this.size += bytes.length;
    }
  }

  addContent(content: BatchContent): void {
    this.parts.push({ content });
    this.size += content.size;
  }

  key(): string {
    const hash = createHash('sha256');
    const length = Buffer.alloc(4);
    for (const part of this.parts) {
      if ('bytes' in part) {
        length.writeUInt32BE(part.bytes.length);
        hash.update('b').update(length).update(part.bytes);
      } else {
        hash.update(`c${part.content.sha256}:${part.content.size}`);
      }
    }
    return hash.digest('hex');
  }

  /** CRC-32 of the batch's bytes, combined from its parts'. */
  crc32(): number {
    let crc = 0;
    for (const part of this.parts) {
      const [partCrc, size] = 'bytes' in part ? [crc32(part.bytes), part.bytes.length] : [part.content.crc32, part.content.size];
      crc = crc32Combine(crc, partCrc, size);
    }
    return crc;
  }

  /** The batch's bytes in `into` (at least `size` long); a file read here must still have the digest it was listed with. */
  bytes(into: Buffer): Buffer {
    if (into.length < this.size) throw new Error(`a tar batch of ${this.size} bytes does not fit a ${into.length}-byte buffer`);
    let at = 0;
    for (const part of this.parts) {
      if ('bytes' in part) {
        at += part.bytes.copy(into, at);
        continue;
      }
      const { content } = part;
      if (content.bytes) at += content.bytes.copy(into, at);
      else at += readContent(content, into.subarray(at, at + content.size));
    }
    return into.subarray(0, at);
  }
}

/** Reads a file known by its digest into `into`; a file that no longer has that content stops the packing. */
export function readContent(content: BatchContent, into: Buffer = Buffer.allocUnsafe(content.size)): number {
  const fd = openSync(content.file!, 'r');
  let got = 0;
  try {
    for (let n; got < content.size && (n = readSync(fd, into, got, content.size - got, got)) > 0;) got += n;
  } finally {
    closeSync(fd);
  }
  if (got !== content.size || sha256(into.subarray(0, got)) !== content.sha256)
    throw new ReleaseError('changed while it was being packaged', { file: content.origin, hint: 'run the package target again' });
  return got;
}
