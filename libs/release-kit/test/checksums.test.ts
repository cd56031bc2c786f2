import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatSha256Sums, parseSha256Sums } from '../src/format/checksums';

const a = 'a'.repeat(64);
const b = 'b'.repeat(64);

test('formats sha256sum lines sorted bytewise with ./ paths', () => {
  const text = formatSha256Sums([
    { path: 'docs/x.md', sha256: a },
    { path: 'MANIFEST.json', sha256: b },
    { path: 'config/production/.env.template', sha256: a },
  ]);
  assert.is(text, `${b}  ./MANIFEST.json\n${a}  ./config/production/.env.template\n${a}  ./docs/x.md\n`);
  assert.equal(
    parseSha256Sums(text, 'SHA256SUMS').map((e) => e.path),
    ['MANIFEST.json', 'config/production/.env.template', 'docs/x.md'],
  );
});

test('rejects malformed, unsorted and duplicated lines with the line number', () => {
  assert.throws(() => parseSha256Sums(`${a} ./x\n`, 'SHA256SUMS'), /SHA256SUMS:1: is not a/);
  assert.throws(() => parseSha256Sums(`${a}  ./b\n${a}  ./a\n`, 'SHA256SUMS'), /SHA256SUMS:2: lists \.\/a out of order/);
  assert.throws(() => parseSha256Sums(`${a}  ./a\n${a}  ./a\n`, 'SHA256SUMS'), /SHA256SUMS:2: lists \.\/a out of order or twice/);
  assert.throws(() => parseSha256Sums(`${a}  ./a`, 'SHA256SUMS'), /does not end with a newline/);
});

test.run();
