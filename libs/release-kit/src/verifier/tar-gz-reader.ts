import { createHash, Hash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { TAR_BLOCK } from '../archive/tar-header';
import { ArchiveEntries, EntryKind } from './archive-entries';
import { showName } from './entry-name';
import { ArchiveLimits, ratioExceeded } from './limits';
import { PackageContents } from './package-contents';
import { canonicalHeader, checksumHolds, decodeHeader, headerDifferences, isZeroBlock, MAX_PAX_BYTES, parsePax } from './tar-blocks';

/** GNU tar's default record: an archive may be padded with zeros up to a multiple of it. */
const TAR_RECORD = 20 * TAR_BLOCK;

/** Entry types a package never holds, as the failure names them. */
const FOREIGN_KINDS: Record<string, EntryKind> = { '1': 'hard link', '2': 'symlink', '3': 'device', '4': 'device', '6': 'fifo' };
/** Headers whose data applies to the entry after them: read (they are small), then named with that entry. */
const PREFIX_HEADERS: Record<string, string> = {
  g: 'a global PAX header',
  L: 'a GNU long name header',
  K: 'a GNU long link name header',
};
const FOREIGN_HEADERS: Record<string, string> = {
  S: 'a GNU sparse file',
  V: 'a GNU volume label',
  M: 'a GNU multi-volume continuation',
  D: 'a GNU dump folder',
  N: 'a GNU old long name header',
};

interface CurrentEntry {
  rawName: string;
  shown: string;
  size: number;
  mode: number;
  hash?: Hash;
  chunks?: Buffer[];
  paddingReported?: boolean;
}

/**
 * The tar stream as the assembler writes it, read block by block: every header must be the very
 * bytes `tarHeader()` writes for the entry it describes (a PAX header only in the assembler's own
 * form, for a path or size that does not fit ustar), files and folders only, padding of zeros, two
 * zero blocks at the end and nothing after them but zeros up to a 10240-byte record. Nothing a tar
 * reader might interpret differently (GNU long names, global or other PAX records, sparse maps,
 * owners, links, a lone zero block, data after the end) is interpreted here: each is a failure.
 */
class TarStream {
  private state: 'header' | 'pax' | 'prefix' | 'data' | 'padding' | 'second end block' | 'after the end' = 'header';
  /** Bytes of the tar stream taken so far. */
  private offset = 0;
  private readonly block = Buffer.alloc(TAR_BLOCK);
  private filled = 0;
  private remaining = 0;
  private pax: { header: Buffer; body: Buffer[]; size: number } | undefined;
  /** A foreign header whose data applies to the next entry (global PAX, GNU long names), once read. */
  private prefix: { what: string; type: string; at: number; body: Buffer[]; size: number } | undefined;
  private current: CurrentEntry | undefined;
  private endsAt = 0;

  constructor(
    private readonly entries: ArchiveEntries,
    private readonly fail: (line: string) => void,
  ) {}

  /** Takes the next piece of the tar stream; false once the read must stop (a failure was given). */
  write(chunk: Buffer): boolean {
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'data' || this.state === 'padding') {
        const n = Math.min(this.remaining, chunk.length - at);
        const piece = chunk.subarray(at, at + n);
        at += n;
        this.offset += n;
        if (!this.take(piece)) return false;
        continue;
      }
      const n = Math.min(TAR_BLOCK - this.filled, chunk.length - at);
      chunk.copy(this.block, this.filled, at, at + n);
      this.filled += n;
      this.offset += n;
      at += n;
      if (this.filled < TAR_BLOCK) continue;
      this.filled = 0;
      if (!this.onBlock(this.block)) return false;
    }
    return true;
  }

  /** The stream ended: true if it ended where the assembler's does. */
  end(): boolean {
    if (this.state === 'after the end') {
      if (this.block.subarray(0, this.filled).some((b) => b !== 0)) {
        this.fail(`data after the end-of-archive blocks, at offset ${this.offset - this.filled} of the tar stream`);
        return false;
      }
      const record = Math.ceil(this.endsAt / TAR_RECORD) * TAR_RECORD;
      if (this.offset <= record) return true;
      this.fail(`${this.offset - this.endsAt} zero bytes after the end-of-archive blocks, past the ${TAR_RECORD}-byte record`);
      return false;
    }
    if (this.state === 'second end block') {
      this.fail(`a lone zero block at offset ${this.endsAt} ends the archive (the end-of-archive marker is two zero blocks)`);
      return false;
    }
    const inside = this.current
      ? ` inside ${this.current.shown}`
      : this.pax || this.prefix
        ? ` inside ${this.prefix?.what ?? 'a PAX header'}`
        : '';
    this.fail(`cannot be read: unexpected end of file${inside || (this.filled ? ' inside a header' : ' (no end-of-archive blocks)')}`);
    return false;
  }

  /** A piece of an entry's data or of its padding. */
  private take(piece: Buffer): boolean {
    const current = this.current!;
    this.remaining -= piece.length;
    if (this.state === 'data') {
      current.hash?.update(piece);
      current.chunks?.push(piece);
      if (this.remaining === 0) this.finishEntry();
      return true;
    }
    if (!current.paddingReported && piece.some((b) => b !== 0)) {
      current.paddingReported = true;
      this.fail(`${current.shown}: non-zero bytes in the padding after its data`);
    }
    if (this.remaining === 0) {
      this.current = undefined;
      this.state = 'header';
    }
    return true;
  }

  private finishEntry(): void {
    const current = this.current!;
    if (current.hash)
      this.entries.add(
        current.rawName,
        { size: current.size, mode: current.mode & 0o7777, sha256: current.hash.digest('hex') },
        current.chunks && Buffer.concat(current.chunks),
      );
    this.remaining = (TAR_BLOCK - (current.size % TAR_BLOCK)) % TAR_BLOCK;
    this.state = 'padding';
    if (this.remaining === 0) {
      this.current = undefined;
      this.state = 'header';
    }
  }

  private onBlock(block: Buffer): boolean {
    const blockAt = this.offset - TAR_BLOCK;
    if (this.state === 'pax' || this.state === 'prefix') {
      (this.state === 'pax' ? this.pax! : this.prefix!).body.push(Buffer.from(block));
      this.remaining -= TAR_BLOCK;
      if (this.remaining <= 0) this.state = 'header';
      return true;
    }
    if (this.state === 'after the end') {
      if (isZeroBlock(block)) return true;
      this.fail(
        checksumHolds(block)
          ? `${showName(decodeHeader(block).path)}: an entry after the end-of-archive blocks, at offset ${blockAt} ` +
              '(tar --ignore-zeros extracts it)'
          : `data after the end-of-archive blocks, at offset ${blockAt} of the tar stream`,
      );
      return false;
    }
    if (this.state === 'second end block') {
      if (isZeroBlock(block)) {
        this.state = 'after the end';
        this.endsAt = this.offset;
        return true;
      }
      const next = checksumHolds(block) ? `the entry ${showName(decodeHeader(block).path)}` : 'more data';
      this.fail(
        `a lone zero block at offset ${blockAt - TAR_BLOCK}, followed by ${next} ` +
          '(GNU tar stops reading at it, other readers go on: the end-of-archive marker is two zero blocks)',
      );
      return false;
    }
    if (isZeroBlock(block)) {
      if (this.pax || this.prefix) {
        const what = this.prefix ? `${this.prefix.what} at offset ${this.prefix.at}` : 'a PAX header';
        this.fail(`${what} followed by the end of the archive (the assembler writes none there)`);
        return false;
      }
      this.state = 'second end block';
      this.endsAt = blockAt;
      return true;
    }
    const header = decodeHeader(block);
    const paxPath = this.pax && parsePax(Buffer.concat(this.pax.body).subarray(0, this.pax.size)).path;
    const shown = showName(paxPath ?? header.path);
    if (!checksumHolds(block)) {
      this.fail(`cannot be read: ${shown}: the tar header at offset ${blockAt} has a wrong checksum (or is no tar header)`);
      return false;
    }
    if (this.prefix) {
      const body = Buffer.concat(this.prefix.body).subarray(0, this.prefix.size);
      const detail =
        this.prefix.type === 'g'
          ? `setting ${parsePax(body).keys.join(', ') || 'nothing'} for every entry after it`
          : `naming it ${JSON.stringify(showName(body.toString('utf8').replace(/\0+$/, '').slice(0, 200)))}`;
      const pax = paxPath === undefined ? '' : `, and a PAX header naming it ${JSON.stringify(paxPath)}`;
      this.fail(
        `${showName(header.path)}: preceded by ${this.prefix.what} at offset ${this.prefix.at} (${detail}${pax}); ` +
          'the assembler writes none',
      );
      return false;
    }
    const prefixWhat = PREFIX_HEADERS[header.type];
    if (prefixWhat) {
      if (!(header.size >= 0 && header.size <= MAX_PAX_BYTES)) {
        this.fail(`${shown}: ${prefixWhat} of ${header.size} bytes at offset ${blockAt}; the assembler writes none`);
        return false;
      }
      this.prefix = { what: prefixWhat, type: header.type, at: blockAt, body: [], size: header.size };
      this.remaining = header.size;
      if (header.size > 0) this.state = 'prefix';
      return true;
    }
    if (header.type === 'x') {
      if (this.pax) {
        this.fail(`${shown}: two PAX headers in a row at offset ${blockAt} (the assembler writes one, before the entry it describes)`);
        return false;
      }
      if (!(header.size >= 0 && header.size <= MAX_PAX_BYTES)) {
        this.fail(`${shown}: a PAX header of ${header.size} bytes at offset ${blockAt} (the assembler's holds one path and a size)`);
        return false;
      }
      this.pax = { header: Buffer.from(block), body: [], size: header.size };
      this.remaining = header.size;
      if (header.size > 0) this.state = 'pax';
      return true;
    }
    const foreign = FOREIGN_KINDS[header.type];
    if (foreign) {
      this.entries.accept(paxPath ?? header.path, foreign, 0);
      return false;
    }
    if (!['0', '\0', '7', '5'].includes(header.type)) {
      const what = FOREIGN_HEADERS[header.type] ?? `an entry of type ${JSON.stringify(header.type)}`;
      this.fail(`${shown}: ${what} at offset ${blockAt}; the assembler writes only files, folders and its own PAX header`);
      return false;
    }
    return this.onEntry(block, header, shown);
  }

  private onEntry(block: Buffer, header: ReturnType<typeof decodeHeader>, shown: string): boolean {
    const pax = this.pax;
    this.pax = undefined;
    let { path, size } = header;
    let actual = block;
    if (pax) {
      const records = parsePax(Buffer.concat(pax.body).subarray(0, pax.size));
      for (const problem of records.problems)
        this.fail(`${shown}: its PAX header holds ${problem} (the assembler's holds only path and size)`);
      path = records.path ?? path;
      size = records.size ?? size;
      actual = Buffer.concat([pax.header, ...pax.body, block]);
    }
    if (!Number.isSafeInteger(size)) {
      this.fail(`cannot be read: ${shown}: its size field holds no number`);
      return false;
    }
    const folder = header.type === '5';
    const name = folder ? path.replace(/\/$/, '') : path;
    const differences = headerDifferences(actual, canonicalHeader(name, folder, size, header.mode, header.mtime));
    if (differences.length) this.fail(`${shown}: its tar header is not the one the assembler writes (${differences.join(', ')})`);
    const rawName = folder ? `${name}/` : path;
    const verdict = this.entries.accept(rawName, folder ? 'folder' : 'file', folder ? 0 : size, { mode: header.mode, mtime: header.mtime });
    if (verdict === 'stop') return false;
    if (folder && size > 0) this.fail(`${shown}: a folder entry with ${size} bytes of data`);
    const keep = verdict === true && this.entries.keepsData(rawName, size);
    this.current = {
      rawName,
      shown,
      size,
      mode: header.mode,
      hash: verdict === true ? createHash('sha256') : undefined,
      chunks: keep ? [] : undefined,
    };
    this.remaining = size;
    this.state = 'data';
    if (size === 0) this.finishEntry();
    return true;
  }
}

/**
 * Streams a .tar.gz through gunzip and the assembler's own tar form (TarStream), hashing every
 * entry in memory: no byte is written to disk. A header that is not the assembler's, a broken
 * gzip stream or CRC, bytes after the last gzip member, an unsafe entry or a limit ends in a failure line.
 */
export async function readTarGz(
  archive: string,
  limits: ArchiveLimits,
  fail: (line: string) => void,
  wanted?: (path: string) => boolean,
): Promise<PackageContents | undefined> {
  const entries = new ArchiveEntries(limits, fail, wanted);
  const tar = new TarStream(entries, fail);
  let stopped = false;
  let compressed = 0;
  let uncompressed = 0;
  const input = createReadStream(archive);
  const gunzip = createGunzip();
  input.on('data', (chunk) => (compressed += chunk.length));
  input.on('error', (e) => gunzip.destroy(e));
  input.pipe(gunzip);
  try {
    const size = statSync(archive).size;
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      uncompressed += chunk.length;
      if (ratioExceeded(uncompressed, compressed, limits)) {
        fail(`expands more than ${limits.maxRatio} times (limit --max-ratio): a decompression bomb?`);
        stopped = true;
      } else if (uncompressed > limits.maxBytes + (1 << 20)) {
        fail(`more than ${limits.maxBytes} uncompressed bytes (limit --max-bytes)`);
        stopped = true;
      } else if (!tar.write(chunk)) stopped = true;
      if (stopped) break;
    }
    if (!stopped) {
      if (!tar.end()) stopped = true;
      // gunzip ignores what follows the last member when it does not start like one.
      else if (gunzip.bytesWritten !== size) fail(`${size - gunzip.bytesWritten} bytes after the last gzip member`);
    }
  } catch (e) {
    fail(`cannot be read: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  return stopped ? undefined : entries.result();
}
