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

function dosDateTime(epochSeconds: number): { date: number; time: number } {
  const d = new Date(epochSeconds * 1000);
  const year = Math.min(Math.max(d.getUTCFullYear(), 1980), 2107);
  return {
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

function entryName(entry: ZipEntry): Buffer {
  return Buffer.from(entry.directory ? `${entry.name}/` : entry.name, 'utf8');
}

function needsZip64(entry: ZipEntry, offset = 0): boolean {
  return entry.size >= U32_MAX || entry.compressedSize >= U32_MAX || offset >= U32_MAX;
}

function zip64Extra(values: number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => extra.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return extra;
}

/** The header id of the padding extra field (the one Android's zipalign uses); readers skip it. */
const PADDING_EXTRA_ID = 0xd935;
export const MIN_ZIP_PADDING = 4;

/** A local file header; `padding` (4 to 65535 bytes, in the local header only) is a zero-filled extra field. */
export function localFileHeader(entry: ZipEntry, padding = 0): Buffer {
  const name = entryName(entry);
  const zip64 = needsZip64(entry);
  const pad = Buffer.alloc(padding);
  if (padding) {
    pad.writeUInt16LE(PADDING_EXTRA_ID, 0);
    pad.writeUInt16LE(padding - MIN_ZIP_PADDING, 2);
  }
  const extra = Buffer.concat([zip64 ? zip64Extra([entry.size, entry.compressedSize]) : Buffer.alloc(0), pad]);
  const { date, time } = dosDateTime(entry.mtime);
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(zip64 ? 45 : 20, 4);
  header.writeUInt16LE(FLAG_UTF8, 6);
  header.writeUInt16LE(entry.method, 8);
  header.writeUInt16LE(time, 10);
  header.writeUInt16LE(date, 12);
  header.writeUInt32LE(entry.crc32 >>> 0, 14);
  header.writeUInt32LE(zip64 ? U32_MAX : entry.compressedSize, 18);
  header.writeUInt32LE(zip64 ? U32_MAX : entry.size, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(extra.length, 28);
  return Buffer.concat([header, name, extra]);
}

export function centralDirectoryRecord(entry: ZipEntry, localHeaderOffset: number): Buffer {
  const name = entryName(entry);
  const zip64 = needsZip64(entry, localHeaderOffset);
  const extra = zip64 ? zip64Extra([entry.size, entry.compressedSize, localHeaderOffset]) : Buffer.alloc(0);
  const { date, time } = dosDateTime(entry.mtime);
  const record = Buffer.alloc(46);
  record.writeUInt32LE(0x02014b50, 0);
  record.writeUInt16LE((UNIX << 8) | (zip64 ? 45 : 20), 4);
  record.writeUInt16LE(zip64 ? 45 : 20, 6);
  record.writeUInt16LE(FLAG_UTF8, 8);
  record.writeUInt16LE(entry.method, 10);
  record.writeUInt16LE(time, 12);
  record.writeUInt16LE(date, 14);
  record.writeUInt32LE(entry.crc32 >>> 0, 16);
  record.writeUInt32LE(zip64 ? U32_MAX : entry.compressedSize, 20);
  record.writeUInt32LE(zip64 ? U32_MAX : entry.size, 24);
  record.writeUInt16LE(name.length, 28);
  record.writeUInt16LE(extra.length, 30);
  record.writeUInt16LE(0, 32);
  record.writeUInt16LE(0, 34);
  record.writeUInt16LE(0, 36);
  const unixMode = (entry.directory ? S_IFDIR : S_IFREG) | entry.mode;
  record.writeUInt32LE(((unixMode << 16) | (entry.directory ? 0x10 : 0)) >>> 0, 38);
  record.writeUInt32LE(zip64 ? U32_MAX : localHeaderOffset, 42);
  return Buffer.concat([record, name, extra]);
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
