// Byte-level zip editing for the hostile corpus: the genuine zip split into its entries (local
// header, data, central record), fields and extra fields edited in either header, new entries made
// in the assembler's own form, and the archive joined again with offsets and end record recomputed.
import { crc32 } from 'node:zlib';
import {
  centralDirectoryRecord,
  endOfCentralDirectory,
  localFileHeader,
  METHOD_STORE,
} from '../../libs/release-kit/src/archive/zip-records';

export interface ZipItem {
  name: string;
  local: Buffer;
  data: Buffer;
  central: Buffer;
}

/** Where the fields of the two headers are. */
export const LOCAL = { fixed: 30, nameLength: 26, flags: 6, method: 8, time: 10, date: 12, crc: 14, compressed: 18, size: 22, needed: 4 };
export const CENTRAL = {
  fixed: 46,
  nameLength: 28,
  madeBy: 4,
  needed: 6,
  flags: 8,
  method: 10,
  time: 12,
  date: 14,
  crc: 16,
  compressed: 20,
  size: 24,
  commentLength: 32,
  disk: 34,
  internal: 36,
  external: 38,
  offset: 42,
};
type Layout = typeof LOCAL | typeof CENTRAL;

/** The entries of a zip in central directory order (the genuine zip has no Zip64 records). */
export function parseZip(zip: Buffer): ZipItem[] {
  const end = zip.length - 22;
  const count = zip.readUInt16LE(end + 10);
  const items: ZipItem[] = [];
  for (let i = 0, at = zip.readUInt32LE(end + 16); i < count; i++) {
    const length = 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const central = Buffer.from(zip.subarray(at, at + length));
    const offset = central.readUInt32LE(42);
    const localLength = 30 + zip.readUInt16LE(offset + 26) + zip.readUInt16LE(offset + 28);
    const local = Buffer.from(zip.subarray(offset, offset + localLength));
    const data = Buffer.from(zip.subarray(offset + localLength, offset + localLength + central.readUInt32LE(20)));
    items.push({ name: central.subarray(46, 46 + central.readUInt16LE(28)).toString('utf8'), local, data, central });
    at += length;
  }
  return items;
}

export interface JoinOptions {
  /** Bytes before the first entry (a self-extractor stub). */
  prefix?: Buffer;
  /** Bytes after the data of the entry at that index. */
  after?: Map<number, Buffer>;
  /** Bytes between the last entry and the central directory. */
  beforeDirectory?: Buffer;
  /** Central records in another order than the local entries (indexes into `items`). */
  centralOrder?: number[];
  /** Leave each central record's local header offset as it is. */
  keepOffsets?: boolean;
  /** Changes the end of central directory record. */
  editEnd?: (end: Buffer) => Buffer;
  /** Bytes after the end record. */
  trailing?: Buffer;
  /** More central records, after the entries' own (counted in the end record). */
  moreCentral?: Buffer[];
}

/** The entries joined: local entries in order, central records with their offsets, the end record. */
export function joinZip(items: ZipItem[], options: JoinOptions = {}): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  const put = (b: Buffer) => (parts.push(b), (length += b.length));
  if (options.prefix) put(options.prefix);
  const centrals = items.map((item, i) => {
    const central = Buffer.from(item.central);
    if (!options.keepOffsets) central.writeUInt32LE(length, 42);
    put(item.local);
    put(item.data);
    const after = options.after?.get(i);
    if (after) put(after);
    return central;
  });
  if (options.beforeDirectory) put(options.beforeDirectory);
  const directoryOffset = length;
  const order = options.centralOrder ?? centrals.map((_, i) => i);
  const more = options.moreCentral ?? [];
  const directory = Buffer.concat([...order.map((i) => centrals[i]), ...more]);
  put(directory);
  const end = endOfCentralDirectory(order.length + more.length, directory.length, directoryOffset);
  put(options.editEnd ? options.editEnd(Buffer.from(end)) : end);
  if (options.trailing) put(options.trailing);
  return Buffer.concat(parts);
}

/** A copy of a record with a 16- or 32-bit field set. */
export function setU16(record: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(record);
  copy.writeUInt16LE(value, at);
  return copy;
}
export function setU32(record: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(record);
  copy.writeUInt32LE(value >>> 0, at);
  return copy;
}

/** A copy of a record with `extra` appended to its extra fields (before a central record's comment). */
export function addExtra(record: Buffer, layout: Layout, extra: Buffer): Buffer {
  const nameLength = record.readUInt16LE(layout.nameLength);
  const extraLength = record.readUInt16LE(layout.nameLength + 2);
  const end = layout.fixed + nameLength + extraLength;
  const copy = Buffer.concat([record.subarray(0, end), extra, record.subarray(end)]);
  copy.writeUInt16LE(extraLength + extra.length, layout.nameLength + 2);
  return copy;
}

/** A copy of a record with another name (its length field updated). */
export function rename(record: Buffer, layout: Layout, name: Buffer | string): Buffer {
  const bytes = Buffer.from(name);
  const nameLength = record.readUInt16LE(layout.nameLength);
  const copy = Buffer.concat([record.subarray(0, layout.fixed), bytes, record.subarray(layout.fixed + nameLength)]);
  copy.writeUInt16LE(bytes.length, layout.nameLength);
  return copy;
}

/** A central record with a comment appended. */
export function withComment(central: Buffer, comment: string): Buffer {
  const copy = Buffer.concat([central, Buffer.from(comment)]);
  copy.writeUInt16LE(Buffer.byteLength(comment), CENTRAL.commentLength);
  return copy;
}

/** An extra field: header id, length, data. */
export function extraField(id: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(data.length, 2);
  return Buffer.concat([head, data]);
}

/** Info-ZIP's Unicode path extra field (0x7075): version 1, the CRC-32 of the header's name, the name to use instead. */
export function unicodePathExtra(headerName: string, unicodeName: string): Buffer {
  const data = Buffer.alloc(5);
  data[0] = 1;
  data.writeUInt32LE(crc32(Buffer.from(headerName)) >>> 0, 1);
  return extraField(0x7075, Buffer.concat([data, Buffer.from(unicodeName)]));
}

/** A stored entry in the assembler's own form (offsets are set when joined). */
export function makeItem(name: string, content: Buffer | string, mtime: number, mode = 0o644, directory = false): ZipItem {
  const data = Buffer.from(content);
  const entry = {
    name: directory ? name.replace(/\/$/, '') : name,
    directory,
    method: METHOD_STORE,
    crc32: crc32(data) >>> 0,
    compressedSize: data.length,
    size: data.length,
    mode,
    mtime,
  };
  return { name, local: localFileHeader(entry), data, central: centralDirectoryRecord(entry, 0) };
}

/** An entry edited in both headers alike. */
export function both(item: ZipItem, edit: (record: Buffer, layout: Layout) => Buffer): ZipItem {
  return { ...item, local: edit(item.local, LOCAL), central: edit(item.central, CENTRAL) };
}
