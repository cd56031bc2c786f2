// The package folder copies what it cannot link (sources, rendered files) on a worker thread,
// while assemble writes the archives (a few files, the usual change, on the calling thread):
// each copy is still checked against the SHA-256 its section was packaged with, and a failure
// names the file and fails the folder.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReleaseError } from '../src/support/errors';
import { MADE_PACK } from '../src/format/fragment';
import { startFolderScan, writePackageFolder } from '../src/assemble/package-folder';
import { packSection } from '../src/section/packer';
import type { SectionSource } from '../src/section/sources';
import { cleanTempDirs, incompressible, tempDir, writeTree } from './helpers';

const DOCS = 100;
const STORED = incompressible(1 << 20, 3);
/** Deflated, so copied on the worker thread (a file too small to deflate is stored, and copied at once). */
const SCRIPT = `#!/bin/sh\n${'echo "checking the deployment"\n'.repeat(40)}`;

/** A page long enough to deflate. */
const page = (i: number, version: string) => `# Page ${i}\n\n${`For version ${version}, see the runbook.\n`.repeat(20)}`;

async function packedSection(docs = DOCS) {
  const root = tempDir('package-folder');
  const files: Record<string, string | Buffer> = { 'libs/docs/run.sh': SCRIPT, 'libs/docs/blob.bin': STORED };
  for (let i = 0; i < docs; i++) files[`libs/docs/pages/page-${i}.md`] = page(i, '{{version}}');
  writeTree(root, files);
  const sources: SectionSource[] = Object.keys(files).map((path) => ({
    path: path.slice('libs/docs/'.length),
    origin: path,
    file: join(root, path),
    sourceMode: path.endsWith('.sh') ? 0o755 : 0o644,
    // the pages are rendered (made-files pack); the script and the blob are copied from the workspace
    renderVersion: path.includes('/pages/') ? '2.5.0' : undefined,
  }));
  const outputDir = join(root, 'dist/sections/docs');
  const fragment = await packSection({
    workspaceRoot: root,
    section: 'docs',
    version: '2.5.0',
    sources,
    skipped: [],
    outputDir,
    mtime: 315532800,
  });
  const folder = join(root, 'dist/release/pkg');
  return {
    root,
    outputDir,
    folder,
    fragment,
    place: () => writePackageFolder(folder, { workspaceRoot: root, sections: [{ fragment, outputDir, digest: 'd' }], rootFiles: [] }),
  };
}

async function failure(placed: Promise<void>): Promise<ReleaseError> {
  try {
    await placed;
  } catch (error) {
    assert.instance(error, ReleaseError);
    return error as ReleaseError;
  }
  throw new assert.Assertion({
    message: 'the folder was placed, though a copy should have failed',
    operator: 'rejects',
    expects: 'a failure',
    actual: 'none',
  });
}

test('copies made on the worker thread hold the packaged bytes and modes; stored content is in place before it returns', async () => {
  const { folder, place } = await packedSection();
  const placed = place();
  assert.ok(
    readFileSync(join(folder, 'docs/blob.bin')).equals(STORED),
    'stored content, which the archives read from the folder, is copied at once',
  );
  await placed.copied;
  assert.is(readdirSync(join(folder, 'docs/pages')).length, DOCS);
  assert.is(readFileSync(join(folder, 'docs/pages/page-7.md'), 'utf8'), page(7, '2.5.0'));
  assert.is(readFileSync(join(folder, 'docs/run.sh'), 'utf8'), SCRIPT);
  assert.is(statSync(join(folder, 'docs/run.sh')).mode & 0o7777, 0o755);
  assert.is(statSync(join(folder, 'docs/pages/page-7.md')).mode & 0o7777, 0o644);
});

test('a made-files pack changed after packaging fails the folder, naming the pack', async () => {
  const { outputDir, place } = await packedSection();
  const pack = join(outputDir, MADE_PACK);
  const bytes = readFileSync(pack);
  bytes[bytes.length - 5] ^= 1;
  writeFileSync(pack, bytes);
  const error = await failure(place().copied);
  assert.match(
    error.message,
    /made-files\.bin: changed after its section was packaged \(docs\/pages\/page-\d+\.md no longer matches its SHA-256\)/,
  );
});

test('a source edited or removed after packaging fails the folder, naming it', async () => {
  const edited = await packedSection();
  writeFileSync(join(edited.root, 'libs/docs/blob.bin'), incompressible(1 << 20, 4));
  assert.throws(() => edited.place(), /^libs\/docs\/blob\.bin: changed after its section was packaged/, 'stored content: at once');

  const script = await packedSection();
  writeFileSync(join(script.root, 'libs/docs/run.sh'), SCRIPT.replace('checking', 'skipping'));
  assert.match(
    (await failure(script.place().copied)).message,
    /^libs\/docs\/run\.sh: changed after its section was packaged/,
    'deflated content: from the worker',
  );

  const removed = await packedSection();
  rmSync(join(removed.root, 'libs/docs/run.sh'));
  assert.match((await failure(removed.place().copied)).message, /^libs\/docs\/run\.sh: is missing, but its section was packaged with it/);
});

test('a few copies are made on the calling thread: in place when it returns, and a changed source fails it at once', async () => {
  const { folder, place } = await packedSection(3);
  place();
  assert.is(readFileSync(join(folder, 'docs/pages/page-2.md'), 'utf8'), page(2, '2.5.0'));
  assert.is(readFileSync(join(folder, 'docs/run.sh'), 'utf8'), SCRIPT);
  assert.is(statSync(join(folder, 'docs/run.sh')).mode & 0o7777, 0o755);

  const edited = await packedSection(3);
  writeFileSync(join(edited.root, 'libs/docs/run.sh'), SCRIPT.replace('checking', 'skipping'));
  assert.throws(() => edited.place(), /^libs\/docs\/run\.sh: changed after its section was packaged/);
});

test("the linked copy (a first build's spare folder) is made once the folder is whole, of the same inodes", async () => {
  const { root, folder, fragment, outputDir } = await packedSection();
  const copy = join(root, 'dist/release/spare');
  await writePackageFolder(folder, {
    workspaceRoot: root,
    sections: [{ fragment, outputDir, digest: 'd' }],
    rootFiles: [{ path: 'NOTES.md', data: Buffer.from('notes\n'), mode: 0o644 }],
    linkedCopy: copy,
  }).copied;
  const files = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length))
      .sort();
  assert.is(files(copy).length, DOCS + 3);
  assert.equal(files(copy), files(folder));
  for (const path of files(folder)) assert.is(statSync(join(copy, path)).ino, statSync(join(folder, path)).ino, path);
});

const scannedOnWorkerThread =
  'a folder scanned on a worker thread loses what the package does not have, has each file stamped, and is laid out from the scan';
test(scannedOnWorkerThread, async () => {
  const { root, folder, fragment, outputDir } = await packedSection(3);
  const sections = [{ fragment, outputDir, digest: 'd' }];
  const notes = { path: 'NOTES.md', data: Buffer.from('notes\n'), mode: 0o644 };
  writePackageFolder(folder, { workspaceRoot: root, sections, rootFiles: [notes] });
  writeFileSync(join(folder, 'docs/stray.txt'), 'stray\n');
  symlinkSync('run.sh', join(folder, 'docs/link'));
  rmSync(join(folder, 'docs/pages/page-0.md'));
  mkdirSync(join(folder, 'docs/pages/page-0.md'));
  const scanned = await startFolderScan(folder, sections, [notes.path]).scanned;
  for (const gone of ['docs/stray.txt', 'docs/link', 'docs/pages/page-0.md'])
    assert.not.ok(existsSync(join(folder, gone)) || lstatSync(join(folder, gone), { throwIfNoEntry: false }), `${gone} removed`);
  const paths = [...fragment.files.map((f) => f.path), notes.path];
  paths.forEach((path, i) => {
    const stamp = Array.from(scanned.stamps.subarray(4 * i, 4 * i + 4));
    if (path === 'docs/pages/page-0.md') return assert.ok(stamp.every(Number.isNaN), 'a file not there has no stamp');
    const s = lstatSync(join(folder, path));
    assert.equal(stamp, [s.size, s.mtimeMs, s.ino, s.mode & 0o7777], path);
  });
  await writePackageFolder(folder, { workspaceRoot: root, sections, rootFiles: [notes], scanned }).copied;
  assert.is(readFileSync(join(folder, 'docs/pages/page-0.md'), 'utf8'), page(0, '2.5.0'));
  assert.throws(
    () => writePackageFolder(folder, { workspaceRoot: root, sections, rootFiles: [], scanned }),
    /was scanned for other files than the package has/,
  );
});

test('abort stops the copier, so that the caller can remove the folder', async () => {
  const { folder, place } = await packedSection();
  const placed = place();
  await placed.abort();
  assert.ok(existsSync(folder));
});

test.after(cleanTempDirs);
test.run();
