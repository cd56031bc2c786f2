/**
 * Zip records (APPNOTE 6.3.x) with every field normalised: a fixed DOS time, UTF-8 names, Unix
 * modes in the external attributes, no extra timestamp fields; Zip64 only where sizes need it.
 */
export const METHOD_STORE = 0;
export const METHOD_DEFLATE = 8;

export interface ZipEntry {
  name: string;
  directory: boolean;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  mode: number;
  mtime: number;
}

const FLAG_UTF8 = 0x0800;
const UNIX = 3;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const U32_MAX = 0xffffffff;

/** The last entry time asked for and its DOS form: every entry of an archive has the same. */
let lastDosTime: { epochSeconds: number; date: number; time: number } | undefined;

function dosDateTime(epochSeconds: number): { date: number; time: number } {
  if (lastDosTime?.epochSeconds !== epochSeconds) {
    const d = new Date(epochSeconds * 1000);
    const year = Math.min(Math.max(d.getUTCFullYear(), 1980), 2107);
    lastDosTime = {
      epochSeconds,
      date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
      time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    };
  }
  return lastDosTime;
}

const entryName = (entry: ZipEntry) => (entry.directory ? `${entry.name}/` : entry.name);

function needsZip64(entry: ZipEntry, offset = 0): boolean {
  return entry.size >= U32_MAX || entry.compressedSize >= U32_MAX || offset >= U32_MAX;
}

/** Writes a Zip64 extended-information extra field at `at`; returns where it ends. */
function writeZip64Extra(record: Buffer, at: number, values: number[]): number {
  record.writeUInt16LE(0x0001, at);
  record.writeUInt16LE(8 * values.length, at + 2);
  values.forEach((v, i) => record.writeBigUInt64LE(BigInt(v), at + 4 + 8 * i));
  return at + 4 + 8 * values.length;
}

/**
 * A zero-filled record of `fixed` bytes, the entry's UTF-8 name and `extra` bytes (from the
 * small-buffer pool), with its signature and the run of fields that a local header (at 4) and a
 * central directory record (at 6) share: version needed to extract through the extra field's length.
 */
function record(signature: number, fixed: number, at: number, entry: ZipEntry, zip64: boolean, extra: number): Buffer {
  const name = entryName(entry);
  const nameLength = Buffer.byteLength(name);
  const buffer = Buffer.allocUnsafe(fixed + nameLength + extra).fill(0);
  buffer.write(name, fixed, 'utf8');
  const { date, time } = dosDateTime(entry.mtime);
  buffer.writeUInt32LE(signature, 0);
  buffer.writeUInt16LE(zip64 ? 45 : 20, at);
  buffer.writeUInt16LE(FLAG_UTF8, at + 2);
  buffer.writeUInt16LE(entry.method, at + 4);
  buffer.writeUInt16LE(time, at + 6);
  buffer.writeUInt16LE(date, at + 8);
  buffer.writeUInt32LE(entry.crc32 >>> 0, at + 10);
  buffer.writeUInt32LE(zip64 ? U32_MAX : entry.compressedSize, at + 14);
  buffer.writeUInt32LE(zip64 ? U32_MAX : entry.size, at + 18);
  buffer.writeUInt16LE(nameLength, at + 22);
  buffer.writeUInt16LE(extra, at + 24);
  return buffer;
}

/** The header id of the padding extra field (the one Android's zipalign uses); readers skip it. */
const PADDING_EXTRA_ID = 0xd935;
export const MIN_ZIP_PADDING = 4;

/** The length of `localFileHeader(entry, padding)`, without making it (an entry left in place is only counted). */
export function localFileHeaderLength(entry: ZipEntry, padding = 0): number {
  return 30 + Buffer.byteLength(entryName(entry)) + (needsZip64(entry) ? 20 : 0) + padding;
}

/** A local file header; `padding` (4 to 65535 bytes, in the local header only) is a zero-filled extra field. */
export function localFileHeader(entry: ZipEntry, padding = 0): Buffer {
  const zip64 = needsZip64(entry);
  const extraLength = (zip64 ? 20 : 0) + padding;
  const header = record(0x04034b50, 30, 4, entry, zip64, extraLength);
  let at = header.length - extraLength;
  if (zip64) at = writeZip64Extra(header, at, [entry.size, entry.compressedSize]);
  if (padding) {
    header.writeUInt16LE(PADDING_EXTRA_ID, at);
    header.writeUInt16LE(padding - MIN_ZIP_PADDING, at + 2);
  }
  return header;
}

export function centralDirectoryRecord(entry: ZipEntry, localHeaderOffset: number): Buffer {
  const zip64 = needsZip64(entry, localHeaderOffset);
  const extraLength = zip64 ? 28 : 0;
  const central = record(0x02014b50, 46, 6, entry, zip64, extraLength);
  central.writeUInt16LE((UNIX << 8) | (zip64 ? 45 : 20), 4);
  const unixMode = (entry.directory ? S_IFDIR : S_IFREG) | entry.mode;
  central.writeUInt32LE(((unixMode << 16) | (entry.directory ? 0x10 : 0)) >>> 0, 38);
  central.writeUInt32LE(zip64 ? U32_MAX : localHeaderOffset, 42);
  if (zip64) writeZip64Extra(central, central.length - extraLength, [entry.size, entry.compressedSize, localHeaderOffset]);
  return central;
}

export function endOfCentralDirectory(entryCount: number, directorySize: number, directoryOffset: number): Buffer {
  const zip64 = entryCount >= 0xffff || directorySize >= U32_MAX || directoryOffset >= U32_MAX;
  const parts: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE((UNIX << 8) | 45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entryCount), 24);
    record.writeBigUInt64LE(BigInt(entryCount), 32);
    record.writeBigUInt64LE(BigInt(directorySize), 40);
    record.writeBigUInt64LE(BigInt(directoryOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(directoryOffset + directorySize), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(entryCount, 0xffff), 8);
  end.writeUInt16LE(Math.min(entryCount, 0xffff), 10);
  end.writeUInt32LE(Math.min(directorySize, U32_MAX), 12);
  end.writeUInt32LE(Math.min(directoryOffset, U32_MAX), 16);
  parts.push(end);
  return Buffer.concat(parts);
}
