import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertArchivablePath } from '../src/format/archive-path';
import { listSourceFiles } from '../src/section/source-files';
import { cleanTempDirs, tempDir, writeTree } from './helpers';

test('lists files sorted, following links that stay in the workspace', () => {
  const ws = tempDir();
  writeTree(ws, { 'src/b.txt': 'b', 'src/a/z.sh': 'z', 'shared/c.txt': 'c' });
  symlinkSync('../shared/c.txt', join(ws, 'src/c.txt'));
  const files = listSourceFiles(join(ws, 'src'), ws);
  assert.equal(
    files.map((f) => f.relativePath),
    ['a/z.sh', 'b.txt', 'c.txt'],
  );
});

test('refuses a symlink that leaves the workspace, naming the link', () => {
  const ws = tempDir();
  const outside = tempDir('outside');
  writeFileSync(join(outside, 'secret'), 'x');
  mkdirSync(join(ws, 'src'));
  symlinkSync(join(outside, 'secret'), join(ws, 'src/escape'));
  assert.throws(() => listSourceFiles(join(ws, 'src'), ws), /src\/escape: is a symlink that leaves the workspace/);
});

test('refuses symlink loops and dangling links', () => {
  const ws = tempDir();
  mkdirSync(join(ws, 'src/d'), { recursive: true });
  symlinkSync('..', join(ws, 'src/d/up'));
  assert.throws(() => listSourceFiles(join(ws, 'src'), ws), /src\/d\/up: is a symlink loop/);
  const ws2 = tempDir();
  mkdirSync(join(ws2, 'src'));
  symlinkSync('nowhere', join(ws2, 'src/gone'));
  assert.throws(() => listSourceFiles(join(ws2, 'src'), ws2), /src\/gone: is a symlink whose target does not exist/);
});

test('refuses names that cannot be archived safely', () => {
  const ws = tempDir();
  mkdirSync(join(ws, 'src'));
  writeFileSync(join(ws, 'src', 'line\nbreak'), 'x');
  assert.throws(
    () => listSourceFiles(join(ws, 'src'), ws),
    /src\/line\nbreak: cannot be archived safely: its name contains the character "\\n"/,
  );
  const ws2 = tempDir();
  mkdirSync(join(ws2, 'src'));
  writeFileSync(Buffer.from(join(ws2, 'src', 'bad-\xff').replace('\xff', '').concat('\u00ff'), 'latin1'), 'x');
  assert.throws(() => listSourceFiles(join(ws2, 'src'), ws2), /not valid UTF-8/);
  for (const bad of ['a/../b', '/abs', 'a//b', 'trailing.', 'colon:x', 'x'.repeat(256)]) {
    assert.throws(() => assertArchivablePath(bad, 'origin'), /origin: cannot be archived safely/, bad);
  }
  assertArchivablePath('kubernetes/overlays/production/kustomization.yaml', 'ok');
});

test('names a missing source folder', () => {
  const ws = tempDir();
  assert.throws(() => listSourceFiles(join(ws, 'nope'), ws), /nope: the section source folder is missing/);
});

test.after(cleanTempDirs);
test.run();
