// Byte-level tar editing for the hostile corpus: the genuine tar stream split into its records,
// headers edited field by field (checksum kept right unless a case breaks it), foreign headers
// (PAX, global PAX, GNU long names, sparse) made by hand, and the stream joined again.
import { Header } from 'tar';

export const BLOCK = 512;

/** One entry of a tar stream: its header blocks (PAX first, when any), its data padded to a block. */
export interface TarRecord {
  name: string;
  /** Blocks before the ustar header: a PAX header and its body, GNU long names. */
  before: Buffer;
  header: Buffer;
  data: Buffer;
}

const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  type: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const;
export type TarField = keyof typeof FIELDS;

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
const octalNumber = (block: Buffer, at: number, length: number) =>
  parseInt(
    block
      .subarray(at, at + length)
      .toString('latin1')
      .replace(/\0.*$/s, '')
      .trim() || '0',
    8,
  );

/** The genuine stream's records, up to the end-of-archive blocks. */
export function parseTar(raw: Buffer): TarRecord[] {
  const records: TarRecord[] = [];
  let before: Buffer[] = [];
  let pendingName: string | undefined;
  for (let at = 0; at + BLOCK <= raw.length;) {
    const header = raw.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = octalNumber(header, 124, 12);
    const data = raw.subarray(at + BLOCK, at + BLOCK + Math.ceil(size / BLOCK) * BLOCK);
    at += BLOCK + data.length;
    if (String.fromCharCode(header[156]) === 'x') {
      pendingName = /\d+ path=([^\n]*)\n/.exec(data.subarray(0, size).toString('utf8'))?.[1];
      before.push(header, data);
      continue;
    }
    const text = (s: number, l: number) =>
      header
        .subarray(s, s + l)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const name = pendingName ?? (text(345, 155) ? `${text(345, 155)}/${text(0, 100)}` : text(0, 100));
    records.push({ name, before: Buffer.concat(before), header: Buffer.from(header), data: Buffer.from(data) });
    before = [];
    pendingName = undefined;
  }
  return records;
}

/** The records joined, then `end` (the two end-of-archive blocks unless a case says otherwise). */
export function joinTar(records: TarRecord[], end: Buffer = Buffer.alloc(2 * BLOCK)): Buffer {
  return Buffer.concat([...records.flatMap((r) => [r.before, r.header, r.data]), end]);
}

/** The header's checksum recomputed, written as node-tar writes it (six digits, a space, NUL). */
export function fixChecksum(header: Buffer): Buffer {
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')} \0`, 148, 'latin1');
  return header;
}

/** A copy of `header` with one field's bytes replaced (NUL-filled to the field's length) and the checksum made right. */
export function setField(header: Buffer, field: TarField, value: string | Buffer): Buffer {
  const [at, length] = FIELDS[field];
  const copy = Buffer.from(header);
  copy.fill(0, at, at + length);
  (typeof value === 'string' ? Buffer.from(value, 'latin1') : value).copy(copy, at, 0, length);
  return fixChecksum(copy);
}

/** An octal field as node-tar writes it: zero-padded digits, a space, NUL. */
export function octal(value: number, field: 'mode' | 'uid' | 'gid' | 'size' | 'mtime' | 'devmajor'): string {
  const length = FIELDS[field][1];
  return `${value.toString(8).padStart(length - 2, '0')} \0`;
}

export interface HeaderFields {
  path: string;
  type?: string;
  size?: number;
  mode?: number;
  mtime: number;
  linkpath?: string;
  uid?: number;
  uname?: string;
}

/** A ustar header made by node-tar, as a hand-made archive would have it. */
export function makeHeader(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  new Header({
    path: fields.path,
    type: (fields.type ?? 'File') as never,
    size: fields.size ?? 0,
    mode: fields.mode ?? 0o644,
    uid: fields.uid ?? 0,
    gid: 0,
    mtime: new Date(fields.mtime * 1000),
    linkpath: fields.linkpath,
    uname: fields.uname ?? '',
    gname: '',
  }).encode(block, 0);
  return block;
}

/** A record of a regular file with `content`, made by node-tar. */
export function fileRecord(path: string, content: Buffer | string, mtime: number, mode = 0o644): TarRecord {
  const data = Buffer.from(content);
  return { name: path, before: Buffer.alloc(0), header: makeHeader({ path, size: data.length, mode, mtime }), data: padded(data) };
}

/** PAX records ("<length> <key>=<value>\n") as one body. */
export function paxBody(records: Array<[string, string]>): Buffer {
  return Buffer.concat(
    records.map(([key, value]) => {
      const line = ` ${key}=${value}\n`;
      let length = Buffer.byteLength(line) + 1;
      while (String(length).length + Buffer.byteLength(line) !== length) length = String(length).length + Buffer.byteLength(line);
      return Buffer.from(`${length}${line}`);
    }),
  );
}

/** A PAX extended ('x') or global ('g') header with its body, padded. */
export function paxHeader(type: 'x' | 'g', records: Array<[string, string]>, mtime: number, name = 'PaxHeader/entry'): Buffer {
  const body = paxBody(records);
  return Buffer.concat([
    makeHeader({ path: name, type: type === 'x' ? 'ExtendedHeader' : 'GlobalExtendedHeader', size: body.length, mtime }),
    padded(body),
  ]);
}

/** A GNU long name ('L') or long link name ('K') header with its data, as GNU tar writes one. */
export function gnuLongName(type: 'L' | 'K', name: string, mtime: number): Buffer {
  const data = Buffer.from(`${name}\0`);
  const header = makeHeader({ path: '././@LongLink', size: data.length, mtime });
  header[156] = type.charCodeAt(0);
  header.write('ustar  \0', 257, 'latin1');
  return Buffer.concat([fixChecksum(header), padded(data)]);
}

/** A header whose type flag is `type` (a raw character), the rest as node-tar writes a file's. */
export function withType(header: Buffer, type: string): Buffer {
  return setField(header, 'type', type);
}

export { padded };
