import { createHash } from 'node:crypto';
import { FileHandle, open } from 'node:fs/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import {
  centralDirectoryRecord,
  endOfCentralDirectory,
  localFileHeader,
  localFileHeaderLength,
  METHOD_DEFLATE,
  METHOD_STORE,
  MIN_ZIP_PADDING,
  ZipEntry,
} from '../archive/zip-records';
import { ArchiveEntries, EntryKind } from './archive-entries';
import { showName } from './entry-name';
import { FileRangeReader } from './file-range-reader';
import { ArchiveLimits, RATIO_FLOOR, ratioExceeded } from './limits';
import { PackageContents } from './package-contents';

const SIGNATURE = { local: 0x04034b50, central: 0x02014b50, end: 0x06054b50, end64: 0x06064b50, locator: 0x07064b50 };
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const CENTRAL_FIXED = 46;
const LOCAL_FIXED = 30;
const END_FIXED = 22;
const ZIP64_END = 56 + 20;

const TYPE_BITS: Record<number, EntryKind> = {
  0o100000: 'file',
  0o040000: 'folder',
  0o120000: 'symlink',
  0o020000: 'device',
  0o060000: 'device',
  0o010000: 'fifo',
  0o140000: 'socket',
};

type Field = [name: string, at: number, length: number];
const CENTRAL_FIELDS: Field[] = [
  ['version made by (host and version)', 4, 2],
  ['version needed', 6, 2],
  ['flags', 8, 2],
  ['method', 10, 2],
  ['time', 12, 2],
  ['date', 14, 2],
  ['CRC-32', 16, 4],
  ['compressed size', 20, 4],
  ['size', 24, 4],
  ['name length', 28, 2],
  ['extra field length', 30, 2],
  ['comment length', 32, 2],
  ['disk number', 34, 2],
  ['internal attributes', 36, 2],
  ['external attributes (type and mode)', 38, 4],
  ['local header offset', 42, 4],
];
const LOCAL_FIELDS: Field[] = [
  ['version needed', 4, 2],
  ['flags', 6, 2],
  ['method', 8, 2],
  ['time', 10, 2],
  ['date', 12, 2],
  ['CRC-32', 14, 4],
  ['compressed size', 18, 4],
  ['size', 22, 4],
  ['name length', 26, 2],
  ['extra field length', 28, 2],
];
/** A deflated entry up to this size is inflated in one call; a larger one streams. */
const INFLATE_AT_ONCE = 1 << 20;

/**
 * Reads a .zip the way the assembler writes it, through its central directory: each central record
 * and each local header must be the very bytes `centralDirectoryRecord()` and `localFileHeader()`
 * write for the entry they describe (Unix host, the UTF-8 flag, no data descriptor, Zip64 fields
 * only where sizes need them, no extra field but the assembler's own padding, in the local header
 * only), the entries must lie one after the other from offset 0 to the central directory, and the
 * end records must close the file. Every entry streams and is hashed in memory; none inflates
 * past the size its headers give, and the sizes together stay within --max-bytes.
 */
export async function readZip(
  archive: string,
  limits: ArchiveLimits,
  fail: (line: string) => void,
  wanted?: (path: string) => boolean,
): Promise<PackageContents | undefined> {
  let file: FileHandle | undefined;
  try {
    file = await open(archive, 'r');
    return await readOpenZip(file, (await file.stat()).size, new ArchiveEntries(limits, fail, wanted), limits, fail);
  } catch (e) {
    fail(`cannot be read: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  } finally {
    await file?.close();
  }
}

async function readOpenZip(
  file: FileHandle,
  size: number,
  entries: ArchiveEntries,
  limits: ArchiveLimits,
  fail: (line: string) => void,
): Promise<PackageContents | undefined> {
  const end = await readEnd(file, size, fail);
  if (!end) return undefined;
  if (end.count > limits.maxEntries) {
    fail(`${end.count} entries, more than ${limits.maxEntries} (limit --max-entries)`);
    return undefined;
  }
  const central = new FileRangeReader(file, end.directoryOffset, end.directoryEnd);
  const body = new FileRangeReader(file, 0, end.directoryOffset);
  let compressed = 0;
  let inflated = 0;
  for (let i = 0; i < end.count; i++) {
    const fixed = await central.take(CENTRAL_FIXED);
    if (!fixed || fixed.readUInt32LE(0) !== SIGNATURE.central) {
      fail(`cannot be read: the central directory holds ${i} records, not the ${end.count} its end record says`);
      return undefined;
    }
    const variable = await central.take(fixed.readUInt16LE(28) + fixed.readUInt16LE(30) + fixed.readUInt16LE(32));
    if (!variable) {
      fail(`cannot be read: central directory record ${i + 1} runs past the central directory`);
      return undefined;
    }
    const record = Buffer.concat([fixed, variable]);
    const facts = decodeCentral(record);
    const shown = showName(facts.name ?? facts.nameBytes.toString('latin1'));
    if (facts.name === undefined) {
      fail(`${shown}: its name is not valid UTF-8`);
      return undefined;
    }
    if (!facts.entry) {
      fail(`cannot be read: ${shown}: its Zip64 extra field lacks a size or offset`);
      return undefined;
    }
    const { entry, offset } = facts;
    const differences = recordDifferences(
      record,
      canonical(() => centralDirectoryRecord(entry, offset)),
      CENTRAL_FIELDS,
      CENTRAL_FIXED,
      28,
    );
    if (differences.length) fail(`${shown}: its central directory record is not the one the assembler writes (${differences.join(', ')})`);
    const kind = entryKind(facts.external, facts.name);
    const verdict = entries.accept(facts.name, kind, kind === 'file' ? entry.size : 0, { mode: entry.mode, mtime: entry.mtime });
    if (verdict === 'stop') return undefined;

    if (offset !== body.position) {
      fail(
        `${shown}: its local header is at offset ${offset}, but the entry before it ends at ${body.position} ` +
          '(entries must lie one after the other, without overlap or gap)',
      );
      return undefined;
    }
    const local = await body.take(LOCAL_FIXED);
    if (!local || local.readUInt32LE(0) !== SIGNATURE.local) {
      fail(`${shown}: no local header at offset ${offset}`);
      return undefined;
    }
    const localVariable = await body.take(local.readUInt16LE(26) + local.readUInt16LE(28));
    if (!localVariable) {
      fail(`cannot be read: ${shown}: its local header runs into the central directory`);
      return undefined;
    }
    const localHeader = Buffer.concat([local, localVariable]);
    const localDifferences = recordDifferences(localHeader, canonicalLocal(entry, localHeader), LOCAL_FIELDS, LOCAL_FIXED, 26);
    if (localDifferences.length) fail(`${shown}: the local header disagrees with the central directory (${localDifferences.join(', ')})`);
    if (entry.compressedSize > body.left) {
      fail(`cannot be read: ${shown}: its ${entry.compressedSize} bytes of data run into the central directory`);
      return undefined;
    }

    if (kind === 'folder' && (entry.method !== METHOD_STORE || entry.compressedSize || entry.size || entry.crc32))
      fail(`${shown}: a folder entry with data`);
    if (verdict !== true) {
      body.advance(entry.compressedSize);
      continue;
    }
    if (entry.method !== METHOD_STORE && entry.method !== METHOD_DEFLATE) {
      fail(`${shown}: compression method ${entry.method} (the assembler stores or deflates)`);
      return undefined;
    }
    if (entry.method === METHOD_STORE && entry.compressedSize !== entry.size) {
      fail(`${shown}: stored, yet its compressed size ${entry.compressedSize} is not its size ${entry.size}`);
      return undefined;
    }
    compressed += entry.compressedSize;
    if (ratioExceeded(entry.size, entry.compressedSize, limits) || ratioExceeded(inflated + entry.size, compressed, limits)) {
      fail(`${shown}: expands more than ${limits.maxRatio} times (limit --max-ratio): a decompression bomb?`);
      return undefined;
    }
    const keep = entries.keepsData(facts.name, entry.size);
    const data = await readData(body, entry, keep);
    inflated += data.inflated;
    if (data.problem) {
      fail(`${shown}: ${data.problem}`);
      if (data.fatal) return undefined;
    }
    if (data.crc !== entry.crc32) fail(`${shown}: CRC-32 mismatch (the data does not match its header)`);
    entries.add(facts.name, { size: data.inflated, mode: entry.mode, sha256: data.sha256 }, data.data);
  }
  if (central.left) fail(`the central directory holds ${central.left} bytes after its ${end.count} records`);
  if (body.left) fail(`${body.left} bytes between the last entry and the central directory`);
  return entries.result();
}

interface ZipEnd {
  count: number;
  directoryOffset: number;
  /** Where the central directory ends: the Zip64 end records or the end record begin. */
  directoryEnd: number;
}

/** The end of central directory record (and the Zip64 ones before it, when it points to them), exactly at the end of the file. */
async function readEnd(file: FileHandle, size: number, fail: (line: string) => void): Promise<ZipEnd | undefined> {
  const tailLength = Math.min(size, U16_MAX + END_FIXED + ZIP64_END);
  const tail = Buffer.alloc(tailLength);
  await file.read(tail, 0, tailLength, size - tailLength);
  const at = tailLength - END_FIXED;
  if (at < 0 || tail.readUInt32LE(at) !== SIGNATURE.end) {
    for (let p = at - 1; p >= 0; p--) {
      if (tail.readUInt32LE(p) !== SIGNATURE.end) continue;
      const comment = tail.readUInt16LE(p + 20);
      const after = tailLength - p - END_FIXED;
      fail(
        comment === after
          ? `has a ${comment}-byte archive comment (the assembler writes none)`
          : `has ${after} bytes after its end of central directory record`,
      );
      return undefined;
    }
    fail('cannot be read: no end of central directory record at its end');
    return undefined;
  }
  let count = tail.readUInt16LE(at + 10);
  let directorySize = tail.readUInt32LE(at + 12);
  let directoryOffset = tail.readUInt32LE(at + 16);
  let directoryEnd = size - END_FIXED;
  if (count === U16_MAX || directorySize === U32_MAX || directoryOffset === U32_MAX) {
    const record = at - ZIP64_END;
    const u64 = (p: number) => Number(tail.readBigUInt64LE(p));
    if (
      record < 0 ||
      tail.readUInt32LE(at - 20) !== SIGNATURE.locator ||
      tail.readUInt32LE(record) !== SIGNATURE.end64 ||
      u64(at - 20 + 8) !== size - END_FIXED - ZIP64_END
    ) {
      fail('cannot be read: its end record asks for Zip64 end records that are not right before it');
      return undefined;
    }
    [count, directorySize, directoryOffset] = [u64(record + 32), u64(record + 40), u64(record + 48)];
    directoryEnd = size - END_FIXED - ZIP64_END;
  }
  if (![count, directorySize, directoryOffset].every(Number.isSafeInteger)) {
    fail('cannot be read: its end records hold sizes past 2^53');
    return undefined;
  }
  const expected = endOfCentralDirectory(count, directorySize, directoryOffset);
  if (!expected.equals(tail.subarray(tailLength - expected.length)))
    fail('its end of central directory record is not the one the assembler writes');
  if (directoryOffset + directorySize !== directoryEnd) {
    fail(
      directoryOffset + directorySize < directoryEnd
        ? `${directoryEnd - directoryOffset - directorySize} bytes between the central directory and its end record`
        : 'cannot be read: the central directory runs past its end record',
    );
    return undefined;
  }
  return { count, directoryOffset, directoryEnd };
}

interface CentralFacts {
  nameBytes: Buffer;
  /** Undefined when the name is not UTF-8. */
  name?: string;
  external: number;
  offset: number;
  /** The entry as `centralDirectoryRecord()` takes it; undefined when a Zip64 value is missing. */
  entry?: ZipEntry;
}

function decodeCentral(record: Buffer): CentralFacts {
  const nameLength = record.readUInt16LE(28);
  const extraLength = record.readUInt16LE(30);
  const nameBytes = record.subarray(CENTRAL_FIXED, CENTRAL_FIXED + nameLength);
  const name = decodeName(nameBytes);
  const external = record.readUInt32LE(38);
  let compressedSize = record.readUInt32LE(20);
  let size = record.readUInt32LE(24);
  let offset = record.readUInt32LE(42);
  // APPNOTE 4.5.3: the Zip64 field holds, in this order, the values whose 32-bit field is all ones.
  const zip64 = extraFields(record.subarray(CENTRAL_FIXED + nameLength, CENTRAL_FIXED + nameLength + extraLength)).get(0x0001);
  if (zip64) {
    let at = 0;
    const next = () => (at + 8 <= zip64.length ? Number(zip64.readBigUInt64LE((at += 8) - 8)) : NaN);
    if (size === U32_MAX) size = next();
    if (compressedSize === U32_MAX) compressedSize = next();
    if (offset === U32_MAX) offset = next();
  }
  const facts: CentralFacts = { nameBytes, name, external, offset };
  if (name === undefined || ![size, compressedSize, offset].every(Number.isSafeInteger)) return facts;
  const directory = name.endsWith('/');
  const time = record.readUInt16LE(12);
  const date = record.readUInt16LE(14);
  facts.entry = {
    name: directory ? name.slice(0, -1) : name,
    directory,
    method: record.readUInt16LE(10),
    crc32: record.readUInt32LE(16),
    compressedSize,
    size,
    mode: (external >>> 16) & 0o7777,
    mtime: Date.UTC(1980 + (date >> 9), ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2) / 1000,
  };
  return facts;
}

/** The extra fields of a record by header id (a malformed run ends the list). */
function extraFields(extra: Buffer): Map<number, Buffer> {
  const fields = new Map<number, Buffer>();
  for (let at = 0; at + 4 <= extra.length;) {
    const length = extra.readUInt16LE(at + 2);
    if (at + 4 + length > extra.length) break;
    if (!fields.has(extra.readUInt16LE(at))) fields.set(extra.readUInt16LE(at), extra.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return fields;
}

/** The local header the assembler writes for `entry`, with padding as long as `actual`'s extra field leaves room for. */
function canonicalLocal(entry: ZipEntry, actual: Buffer): Buffer | undefined {
  const base = localFileHeaderLength(entry) - LOCAL_FIXED - Buffer.byteLength(entry.directory ? `${entry.name}/` : entry.name);
  const extra = actual.readUInt16LE(28);
  const padding = extra - base >= MIN_ZIP_PADDING ? extra - base : 0;
  return canonical(() => localFileHeader(entry, padding));
}

function canonical(make: () => Buffer): Buffer | undefined {
  try {
    return make();
  } catch {
    return undefined;
  }
}

/** The names of the fields where a record differs from the canonical one: the name first, then the fixed fields, then the rest. */
function recordDifferences(actual: Buffer, expected: Buffer | undefined, fields: Field[], fixed: number, nameLengthAt: number): string[] {
  if (!expected) return ['a value the assembler cannot write'];
  if (actual.equals(expected)) return [];
  const differences = fields
    .filter(([, at, length]) => !actual.subarray(at, at + length).equals(expected.subarray(at, at + length)))
    .map(([n]) => n);
  const parts = (record: Buffer) => {
    const nameEnd = fixed + record.readUInt16LE(nameLengthAt);
    const extraEnd = nameEnd + record.readUInt16LE(nameLengthAt + 2);
    return { name: record.subarray(fixed, nameEnd), extra: record.subarray(nameEnd, extraEnd), rest: record.subarray(extraEnd) };
  };
  const [a, e] = [parts(actual), parts(expected)];
  if (!a.name.equals(e.name)) differences.unshift('name');
  if (!a.extra.equals(e.extra)) {
    const ids = [...extraFields(a.extra).keys()].map((id) => `0x${id.toString(16).padStart(4, '0')}`);
    differences.push(`extra fields${ids.length ? ` (${ids.join(', ')})` : ''}`);
  }
  if (!a.rest.equals(e.rest)) differences.push('comment');
  return differences.length ? differences : ['signature'];
}

function decodeName(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** The entry's type by its Unix type bits, whatever host the record claims (Info-ZIP honours them for several). */
function entryKind(external: number, name: string): EntryKind {
  const type = (external >>> 16) & 0o170000;
  if (type) return TYPE_BITS[type] ?? 'other';
  return name.endsWith('/') ? 'folder' : 'file';
}

interface EntryData {
  sha256: string;
  crc: number;
  inflated: number;
  data?: Buffer;
  problem?: string;
  /** The read cannot go on after this problem. */
  fatal?: boolean;
}

/** Reads an entry's data from `body`, inflating it when deflated, never past the size its headers give. */
async function readData(body: FileRangeReader, entry: ZipEntry, keep: boolean): Promise<EntryData> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let crc = 0;
  let inflated = 0;
  const take = (chunk: Buffer) => {
    hash.update(chunk);
    crc = crc32(chunk, crc);
    inflated += chunk.length;
    if (keep) chunks.push(chunk);
  };
  const result = (problem?: string, fatal?: boolean): EntryData => ({
    sha256: hash.digest('hex'),
    crc: crc >>> 0,
    inflated,
    data: keep ? Buffer.concat(chunks) : undefined,
    problem,
    fatal,
  });
  if (entry.method === METHOD_STORE) {
    for await (const piece of body.pieces(entry.compressedSize)) take(piece);
    return result();
  }
  const tooLarge = `inflates to more than the ${entry.size} bytes its headers give`;
  let consumed: number;
  if (entry.compressedSize <= INFLATE_AT_ONCE && entry.size <= RATIO_FLOOR) {
    const input = (await body.take(entry.compressedSize))!;
    try {
      const out = inflateRawSync(input, { info: true, maxOutputLength: Math.max(entry.size, 1) } as never) as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      };
      take(out.buffer);
      consumed = out.engine.bytesWritten;
    } catch (e) {
      const code = (e as { code?: string }).code;
      return result(code === 'ERR_BUFFER_TOO_LARGE' ? tooLarge : `its deflate data is broken (${(e as Error).message})`);
    }
  } else {
    const inflate = createInflateRaw();
    let problem: string | undefined;
    const finished = new Promise<void>((resolve) => {
      inflate.on('end', resolve);
      inflate.on('close', resolve);
      inflate.on('error', (e) => {
        problem ??= `its deflate data is broken (${e.message})`;
        resolve();
      });
    });
    inflate.on('data', (chunk: Buffer) => {
      if (problem) return;
      if (inflated + chunk.length > entry.size) {
        problem = tooLarge;
        inflate.destroy();
      } else take(chunk);
    });
    for await (const piece of body.pieces(entry.compressedSize)) {
      if (problem) break;
      if (!inflate.write(piece)) await Promise.race([new Promise((resolve) => inflate.once('drain', resolve)), finished]);
    }
    if (!problem) {
      inflate.end();
      await finished;
    }
    inflate.destroy();
    if (problem) return result(problem, true);
    consumed = inflate.bytesWritten;
  }
  if (inflated !== entry.size) return result(`inflates to ${inflated} bytes, its headers say ${entry.size}`);
  if (consumed !== entry.compressedSize)
    return result(`its deflate data ends ${entry.compressedSize - consumed} bytes before its compressed size`);
  return result();
}
