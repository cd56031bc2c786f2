import { randomBytes } from 'node:crypto';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32Combine } from '../src/archive/crc32-combine';
import {
  deflatePadding,
  deflatePieceSync,
  FINAL_BLOCK,
  gzipHeader,
  gzipMember,
  gzipTrailer,
  MIN_DEFLATE_PADDING,
} from '../src/archive/gzip';

test("crc32Combine gives zlib's CRC-32 of the concatenation, for empty, small and multi-MiB parts", () => {
  for (const [a, b] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [5, 7],
    [1000, 65536],
    [3 << 20, (1 << 20) + 3],
  ]) {
    const [x, y] = [randomBytes(a), randomBytes(b)];
    assert.is(crc32Combine(crc32(x), crc32(y), b), crc32(Buffer.concat([x, y])), `${a} + ${b} bytes`);
  }
});

test('crc32Combine over lengths past 4 GiB agrees with combining the same bytes 1 MiB at a time', () => {
  const mib = Buffer.alloc(1 << 20, 0x5a);
  let folded = 0;
  for (let i = 0; i < 5 * 1024; i++) folded = crc32Combine(folded, crc32(mib), mib.length);
  const head = crc32(Buffer.from('head'));
  let stepwise = head;
  for (let i = 0; i < 5 * 1024; i++) stepwise = crc32Combine(stepwise, crc32(mib), mib.length);
  assert.is(crc32Combine(head, folded, 5 * 2 ** 30), stepwise);
});

test('deflatePadding makes exactly the size asked, from 13 bytes up, and reads as no data between pieces', () => {
  for (let size = MIN_DEFLATE_PADDING; size < 300; size++) {
    const padding = deflatePadding(size);
    assert.is(padding.length, size);
    const stream = Buffer.concat([deflatePieceSync(Buffer.from('ab')), padding, deflatePieceSync(Buffer.from('cd')), FINAL_BLOCK]);
    assert.is(inflateRawSync(stream).toString(), 'abcd', `${size} bytes of padding`);
  }
  assert.is(inflateRawSync(Buffer.concat([deflatePadding(32 << 10), FINAL_BLOCK])).length, 0);
  assert.throws(() => deflatePadding(12), /deflate padding of 12 bytes/);
});

test('pieces compressed apart join into one gzip member that gunzip reads whole, with the combined CRC', () => {
  const parts = [randomBytes(70_000), Buffer.alloc(0), Buffer.from('x'.repeat(100_000))];
  const crc = parts.reduce((c, p) => crc32Combine(c, crc32(p), p.length), 0);
  const size = parts.reduce((n, p) => n + p.length, 0);
  const member = Buffer.concat([gzipHeader(), ...parts.map(deflatePieceSync), deflatePadding(40), FINAL_BLOCK, gzipTrailer(crc, size)]);
  assert.ok(gunzipSync(member).equals(Buffer.concat(parts)));
  assert.ok(gunzipSync(gzipMember(Buffer.from('one'))).equals(Buffer.from('one')));
});

test.run();
