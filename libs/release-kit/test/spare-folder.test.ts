// An assembly keeps the package folder and archives it replaced as spares and updates them in place
// on the next run. The spare folder shares inodes with the published one, so these tests check that
// the update never writes through a shared file, and that the result is the same as a cold build.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spareFor, stagingDirFor } from '../src/support/move-into-place';
import { buildFixtureRelease, fixtureWorkspace } from './fixture-release';
import { cleanTempDirs, tempDir, tool } from './helpers';

type Tree = Record<string, string>;

/** Every entry under `dir`: a folder as `dir <mode>`, a file as `<mode> <sha256>`. */
function tree(dir: string, prefix = '', out: Tree = {}): Tree {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const s = lstatSync(path);
    const mode = (s.mode & 0o7777).toString(8);
    if (s.isDirectory()) {
      out[`${prefix}${name}/`] = `dir ${mode}`;
      tree(path, `${prefix}${name}/`, out);
    } else out[`${prefix}${name}`] = `${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  }
  return out;
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
let ws: string;

test.before(() => {
  ws = fixtureWorkspace();
});

const firstAssemblyMakesSpares =
  'a first assembly makes its spares (the folder as hard links, the archives as copies); the next keeps what it replaced, unchanged';
test(firstAssemblyMakesSpares, async () => {
  const first = await buildFixtureRelease(ws);
  const firstTree = tree(first.packageDir);
  const firstArchives = [sha(first.tarGz), sha(first.zip)];
  assert.equal(tree(spareFor(first.packageDir)), firstTree);
  for (const file of Object.keys(firstTree).filter((path) => !firstTree[path].startsWith('dir'))) {
    assert.is(
      lstatSync(join(spareFor(first.packageDir), file)).ino,
      lstatSync(join(first.packageDir, file)).ino,
      `the spare links ${file}`,
    );
  }
  assert.equal([sha(spareFor(first.tarGz)), sha(spareFor(first.zip))], firstArchives);
  assert.is.not(statSync(spareFor(first.tarGz)).ino, statSync(first.tarGz).ino, 'a copy, not a link: the next build writes over it');
  appendFileSync(join(ws, 'libs/sections/alpha/src/readme.md'), 'second\n');
  const second = await buildFixtureRelease(ws);
  assert.is(second.upToDate, false);
  assert.equal(tree(spareFor(second.packageDir)), firstTree);
  assert.equal([sha(spareFor(second.tarGz)), sha(spareFor(second.zip))], firstArchives);
});

test(
  'the spare, changed and tampered with, is updated in place into exactly what a cold build makes, ' +
    'without touching the published folder',
  async () => {
    const published = join(ws, 'dist/release/spacetime-vr-v1.2.3');
    const spare = spareFor(published);
    const publishedTree = tree(published);
    const spareInode = statSync(spare).ino;
    const archives = ['spacetime-vr-v1.2.3.tar.gz', 'spacetime-vr-v1.2.3.zip'].map((name) => join(ws, 'dist/release', name));
    const publishedArchives = archives.map(sha);
    const spareArchiveInodes = archives.map((file) => statSync(spareFor(file)).ino);
    // Source changes: two files edited that the spare shares with the published folder (one rendered, one copied), one removed, two added.
    appendFileSync(join(ws, 'libs/sections/alpha/src/deep/run.sh'), 'echo third\n');
    appendFileSync(join(ws, 'libs/sections/beta/src/image.tar.gz'), 'third');
    unlinkSync(join(ws, 'libs/sections/beta/src/notes/a.txt'));
    writeFileSync(join(ws, 'libs/sections/alpha/src/deep/new.txt'), 'new\n');
    mkdirSync(join(ws, 'libs/sections/alpha/src/guide'));
    writeFileSync(join(ws, 'libs/sections/alpha/src/guide/start.md'), 'start\n');
    for (const file of ['alpha/deep/run.sh', 'beta/image.tar.gz'])
      assert.is(lstatSync(join(spare, file)).ino, lstatSync(join(published, file)).ino, `the spare shares ${file}`);
    // The spare tampered with: a stray file, a folder where a file belongs, a file where a folder belongs.
    writeFileSync(join(spare, 'alpha/stray.txt'), 'stray\n');
    rmSync(join(spare, 'beta/server.bin'));
    mkdirSync(join(spare, 'beta/server.bin'));
    writeFileSync(join(spare, 'alpha/guide'), 'not a folder\n');

    const third = await buildFixtureRelease(ws);
    assert.is(statSync(third.packageDir).ino, spareInode, 'the spare was the staging folder');
    assert.equal(tree(spareFor(published)), publishedTree, 'the folder that was published is intact, now as the spare');
    assert.equal(
      archives.map((file) => statSync(file).ino),
      spareArchiveInodes,
      'the spare archives were written over',
    );
    assert.equal(
      archives.map((file) => sha(spareFor(file))),
      publishedArchives,
      'the archives that were published are intact, now as spares',
    );
    const updated = tree(third.packageDir);
    const updatedArchives = archives.map(sha);
    assert.ok(
      updated['alpha/deep/new.txt'] && updated['alpha/guide/start.md'] && !updated['beta/notes/a.txt'] && !updated['alpha/stray.txt'],
    );

    rmSync(join(ws, 'dist/release'), { recursive: true });
    const cold = await buildFixtureRelease(ws);
    assert.equal(updated, tree(cold.packageDir));
    assert.equal(updatedArchives, [sha(cold.tarGz), sha(cold.zip)]);
  },
);

test(
  'the first change after a cold build leaves its unchanged sections in place in the spare archives; ' +
    'the result is what a cold build makes',
  async () => {
    // The last test ended with a cold build.
    appendFileSync(join(ws, 'libs/sections/beta/src/image.tar.gz'), 'fourth');
    const lines: string[] = [];
    const result = await buildFixtureRelease(ws, {}, (line) => lines.push(line));
    for (const archive of [result.tarGz, result.zip]) {
      const name = archive.split('/').pop();
      assert.ok(
        lines.some((line) => line.startsWith(`${name}: `) && / left in place /.test(line)),
        `${name}: nothing left in place:\n${lines.join('\n')}`,
      );
    }
    const incremental = [sha(result.tarGz), sha(result.zip)];
    rmSync(join(ws, 'dist/release'), { recursive: true });
    const cold = await buildFixtureRelease(ws);
    assert.equal(incremental, [sha(cold.tarGz), sha(cold.zip)]);
    for (const [command, archive] of [
      ['gzip -t', cold.tarGz],
      ['tar -tzf', cold.tarGz],
      ['unzip -tq', cold.zip],
    ])
      tool('bash', ['-c', `${command} ${archive} > /dev/null`]);
  },
);

test(
  'a spare zip whose recorded layout does not place its central directory records (an older state) ' +
    'is written in full, to what a cold build makes',
  async () => {
    // The last test ended with a cold build, whose state places every section's records.
    const stateFile = join(ws, 'dist/release/.assemble-state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    const zipName = Object.keys(state.spares).find((name) => name.endsWith('.zip'))!;
    assert.ok(
      state.spares[zipName].layout.sections.every((s: { central?: unknown }) => Array.isArray(s.central)),
      "a zip layout places each section's records",
    );
    for (const section of state.spares[zipName].layout.sections) delete section.central;
    writeFileSync(stateFile, JSON.stringify(state));
    appendFileSync(join(ws, 'libs/sections/beta/src/image.tar.gz'), 'older state');
    const lines: string[] = [];
    const result = await buildFixtureRelease(ws, {}, (line) => lines.push(line));
    assert.ok(
      lines.some((line) => /\.tar\.gz: .* left in place /.test(line)),
      `the tar.gz still keeps its unchanged sections:\n${lines.join('\n')}`,
    );
    assert.not.ok(
      lines.some((line) => /\.zip: .* left in place /.test(line)),
      `the zip keeps nothing:\n${lines.join('\n')}`,
    );
    const incremental = [sha(result.tarGz), sha(result.zip)];
    rmSync(join(ws, 'dist/release'), { recursive: true });
    const cold = await buildFixtureRelease(ws);
    assert.equal(incremental, [sha(cold.tarGz), sha(cold.zip)]);
  },
);

/** The names that appear in `dir` itself (not below it) while `build` runs. */
async function namesAppearingIn<T>(dir: string, build: () => Promise<T>): Promise<{ names: Set<string>; result: T }> {
  const names = new Set<string>();
  const watcher = watch(dir, (_event, name) => name && names.add(name));
  try {
    const result = await build();
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { names, result };
  } finally {
    watcher.close();
  }
}

// The Nx daemon handles every file event in the workspace but node_modules, on the build's own cores.
test(
  "the package folder and the one it replaces are staged and set aside in node_modules/.cache, out of the Nx daemon's watch; " +
    'only whole folders are renamed into the output folder',
  async () => {
    const release = join(ws, 'dist/release');
    const staging = stagingDirFor(ws, release);
    assert.ok(staging.startsWith(join(ws, 'node_modules/.cache/')), staging);
    appendFileSync(join(ws, 'libs/sections/alpha/src/readme.md'), 'fifth\n');
    const { names, result } = await namesAppearingIn(release, () => buildFixtureRelease(ws));
    assert.is(result.upToDate, false);
    const partials = [...names].filter((name) => name.startsWith('.partial-'));
    assert.ok(
      partials.some((name) => name.endsWith('.tar.gz')),
      `the archives are still staged beside their final names: ${partials}`,
    );
    const folder = result.packageDir.split('/').pop()!;
    assert.equal(
      partials.filter((name) => name.endsWith(folder)),
      [],
      'no folder staged, linked or set aside in the output folder',
    );
    assert.equal(readdirSync(staging), [], 'nothing left in the staging folder');
    assert.ok(existsSync(spareFor(result.packageDir)), 'the spare folder is kept beside the published one');

    // A run killed between setting the published folder aside and renaming the new one into place.
    const dead = spawnSync('true').pid;
    const published = tree(result.packageDir);
    renameSync(result.packageDir, join(staging, `.partial-${dead}-previous-${folder}`));
    const rerun = await buildFixtureRelease(ws);
    assert.is(rerun.upToDate, true, 'the folder set aside was put back');
    assert.equal(tree(rerun.packageDir), published);
    assert.equal(readdirSync(staging), []);
  },
);

test(
  'a folder is staged in the output folder itself when a rename from node_modules/.cache cannot reach it, ' +
    'or when the output folder is outside the workspace',
  () => {
    const root = tempDir('staging-fallback');
    mkdirSync(join(root, 'dist/release'), { recursive: true });
    assert.is(stagingDirFor(root, '/tmp'), '/tmp', 'outside the workspace');
    const other = ['/dev/shm', '/run'].find((dir) => existsSync(dir) && statSync(dir).dev !== statSync(root).dev);
    if (!other) return console.log('  (no second file system here: the cross-device case is not exercised)');
    const modules = join(other, `staging-test-${process.pid}`);
    mkdirSync(modules, { recursive: true });
    try {
      symlinkSync(modules, join(root, 'node_modules'));
      assert.is(stagingDirFor(root, join(root, 'dist/release')), join(root, 'dist/release'), `node_modules on ${other}`);
    } finally {
      rmSync(modules, { recursive: true, force: true });
    }
  },
);

test.after(cleanTempDirs);
test.run();
