import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { centralDirectoryRecord, localFileHeader, localFileHeaderLength, METHOD_DEFLATE, ZipEntry } from '../src/archive/zip-records';

const entry = (over: Partial<ZipEntry>): ZipEntry => ({
  name: 'top/file.txt',
  directory: false,
  method: METHOD_DEFLATE,
  crc32: 0xdeadbeef,
  compressedSize: 10,
  size: 20,
  mode: 0o644,
  mtime: 315532800,
  ...over,
});

test('localFileHeaderLength is the length of the header it stands for: names in UTF-8, directories, padding, Zip64', () => {
  for (const e of [
    entry({}),
    entry({ name: 'top/\u00e9t\u00e9/\u{1f680}.md' }),
    entry({ name: 'top/dir', directory: true, size: 0, compressedSize: 0 }),
    entry({ size: 5e9, compressedSize: 4.5e9 }),
  ]) {
    for (const padding of [0, 4, 4000])
      assert.is(localFileHeaderLength(e, padding), localFileHeader(e, padding).length, `${e.name} padding ${padding}`);
  }
});

test('a local header names its entry in UTF-8 and ends with the padding extra field', () => {
  const header = localFileHeader(entry({ name: 'top/\u00e9.txt' }), 12);
  assert.is(header.readUInt32LE(0), 0x04034b50);
  assert.is(header.readUInt16LE(6), 0x0800, 'UTF-8 flag');
  assert.is(header.readUInt32LE(14), 0xdeadbeef);
  const nameLength = header.readUInt16LE(26);
  assert.is(header.subarray(30, 30 + nameLength).toString('utf8'), 'top/\u00e9.txt');
  assert.is(header.readUInt16LE(28), 12);
  assert.is(header.readUInt16LE(30 + nameLength), 0xd935, 'padding extra id');
  assert.is(header.readUInt16LE(32 + nameLength), 8, 'padding extra data length');
  assert.ok(header.subarray(34 + nameLength).every((b) => b === 0));
});

test('an entry of 4 GiB or more, or at an offset past 4 GiB, gets Zip64 sizes and offset', () => {
  const big = entry({ size: 5_000_000_000, compressedSize: 4_500_000_000 });
  const local = localFileHeader(big);
  assert.is(local.readUInt16LE(4), 45, 'version needed');
  assert.is(local.readUInt32LE(18), 0xffffffff);
  assert.is(local.readUInt32LE(22), 0xffffffff);
  const extra = 30 + local.readUInt16LE(26);
  assert.is(local.readUInt16LE(extra), 1, 'Zip64 extra id');
  assert.is(Number(local.readBigUInt64LE(extra + 4)), 5_000_000_000, 'size first');
  assert.is(Number(local.readBigUInt64LE(extra + 12)), 4_500_000_000);

  const central = centralDirectoryRecord(entry({}), 6_000_000_000);
  assert.is(central.readUInt32LE(42), 0xffffffff);
  const at = 46 + central.readUInt16LE(28);
  assert.is(central.readUInt16LE(30), 28);
  assert.is(Number(central.readBigUInt64LE(at + 20)), 6_000_000_000, 'offset after both sizes');
  assert.is(central.readUInt32LE(38) >>> 16, 0o100644, 'Unix mode in the external attributes');

  const small = centralDirectoryRecord(entry({}), 1234);
  assert.is(small.readUInt32LE(42), 1234);
  assert.is(small.readUInt16LE(30), 0, 'no extra field');
});

test.run();
