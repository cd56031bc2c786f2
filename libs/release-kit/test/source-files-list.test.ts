// A section ships the files Nx's file map has for it (tracked, plus untracked files git does not
// ignore); outside Nx, git lists the same. An ignored file never ships and never fails the build.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileMapList, gitFileList, listSourceFiles } from '../src/section/source-files';
import { resolveSectionSources } from '../src/section/sources';
import { cleanTempDirs, tempDir, writeTree } from './helpers';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const SECTION = 'libs/sections/config';
const OPENAPI =
  'openapi: 3.0.0\ninfo: { title: t, version: "1" }\npaths: { /health: { get: { responses: { "200": { description: ok } } } } }\n';

/** A committed workspace whose section holds ignored files beside its sources, plus an untracked source. */
function workspace(): string {
  const ws = tempDir('source-list');
  writeTree(ws, {
    '.gitignore': 'node_modules\n*.log\n.env.local\ntmp\n',
    [`${SECTION}/project.json`]: '{}\n',
    [`${SECTION}/.gitignore`]: 'scratch/\n*.local.yaml\n',
    [`${SECTION}/src/app.env.template`]: 'DB_PASSWORD=<DB_PASSWORD>\n',
    [`${SECTION}/src/production/nginx.conf`]: 'server {}\n',
    [`${SECTION}/src/run.sh`]: '#!/bin/sh\n',
    [`${SECTION}/openapi/api.yaml`]: OPENAPI,
  });
  git(ws, 'init', '-q', '-b', 'main');
  git(ws, 'add', '-A');
  git(ws, '-c', 'user.name=T', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'sources');
  writeTree(ws, {
    // Untracked and not ignored: a source like any other.
    [`${SECTION}/src/production/new.conf`]: 'new\n',
    // Ignored, by the root .gitignore and by the section's own.
    [`${SECTION}/src/.env.local`]: 'DB_PASSWORD=hunter2hunter2\n',
    [`${SECTION}/src/production/debug.log`]: 'log\n',
    [`${SECTION}/src/tmp/notes.md`]: 'notes\n',
    [`${SECTION}/src/scratch/draft.md`]: 'draft\n',
    [`${SECTION}/src/values.local.yaml`]: 'password: x\n',
  });
  return ws;
}

const paths = (ws: string, projectFiles?: string[]) =>
  resolveSectionSources({ workspaceRoot: ws, projectRoot: SECTION, version: '1.0.0', sources: [{ from: 'src', to: '.' }], projectFiles })
    .map((s) => s.path)
    .sort();

/**
 * The files Nx's map holds for the section, as Nx 24 makes it (the workspace test checks Nx itself):
 * what git lists that is a file, or a link to one. No folder links, dangling links or FIFOs.
 */
function fileMap(ws: string): string[] {
  return git(ws, 'ls-files', '--cached', '--others', '--exclude-standard', SECTION)
    .trim()
    .split('\n')
    .filter((file) => {
      try {
        return statSync(join(ws, file)).isFile();
      } catch {
        return false;
      }
    });
}

const SHIPPED = ['app.env.template', 'production/new.conf', 'production/nginx.conf', 'run.sh'];

test('ignored files never ship: not from the file map, not from git, whatever ignores them', () => {
  const ws = workspace();
  assert.equal(paths(ws, fileMap(ws)), SHIPPED);
  assert.equal(paths(ws), SHIPPED);
});

test('a file the map does not name is left out even if git would list it (the map is what Nx hashed)', () => {
  const ws = workspace();
  const map = fileMap(ws).filter((f) => !f.endsWith('new.conf'));
  assert.equal(
    paths(ws, map),
    SHIPPED.filter((p) => p !== 'production/new.conf'),
  );
});

test('a file the map names that is gone from disk is an error naming it; a file git tracks but was deleted is just gone', () => {
  const ws = workspace();
  const map = fileMap(ws);
  assert.ok(map.includes(`${SECTION}/src/run.sh`));
  rmSync(join(ws, SECTION, 'src/run.sh'));
  assert.throws(() => paths(ws, map), /libs\/sections\/config\/src\/run\.sh: is in Nx's file map but is no longer a file on disk/);
  assert.equal(
    paths(ws),
    SHIPPED.filter((p) => p !== 'run.sh'),
  );
});

test('an ignored folder is not walked: a FIFO, a dangling link or a bad name in it fails nothing', () => {
  const ws = workspace();
  const tmp = join(ws, SECTION, 'src/tmp');
  execFileSync('mkfifo', [join(tmp, 'pipe')]);
  symlinkSync('nowhere', join(tmp, 'gone'));
  writeFileSync(Buffer.from(`${tmp}/caf\xe9.md`, 'latin1'), 'x');
  symlinkSync('..', join(tmp, 'up'));
  // Ignored one by one, beside shipped files: a socket-like FIFO and a dangling editor lock link.
  execFileSync('mkfifo', [join(ws, SECTION, 'src/production/server.log')]);
  symlinkSync('user@host.1234', join(ws, SECTION, 'src/production/.env.local'));
  assert.equal(paths(ws, fileMap(ws)), SHIPPED);
  assert.equal(paths(ws), SHIPPED);
});

test('odd entries git does not ignore are refused as before, naming them', () => {
  const cases: Array<[string, (src: string) => void, RegExp]> = [
    ['a FIFO', (src) => execFileSync('mkfifo', [join(src, 'pipe')]), /config\/src\/pipe: is not a regular file or folder/],
    ['a dangling link', (src) => symlinkSync('nowhere', join(src, 'gone')), /config\/src\/gone: is a symlink whose target does not exist/],
    [
      'a link to its parent',
      (src) => symlinkSync('..', join(src, 'production/again')),
      /config\/src\/production\/again: is a symlink loop/,
    ],
    [
      'a link loop',
      (src) => (symlinkSync('loop-b', join(src, 'loop-a')), symlinkSync('loop-a', join(src, 'loop-b'))),
      /config\/src\/loop-a: is a symlink loop/,
    ],
    [
      'a link to a folder elsewhere',
      (src) => symlinkSync('../openapi', join(src, 'api')),
      /config\/src\/api: is a symlink to a folder: Nx's file map \(like git\) lists no file behind it/,
    ],
    [
      'a name that is not UTF-8',
      (src) => writeFileSync(Buffer.from(`${src}/caf\xe9.md`, 'latin1'), 'x'),
      /config\/src\/caf.*\.md: cannot be archived safely: its name is not valid UTF-8/,
    ],
    [
      'a FIFO in a folder that holds no listed file',
      (src) => (mkdirSync(join(src, 'empty/deeper'), { recursive: true }), execFileSync('mkfifo', [join(src, 'empty/deeper/pipe')])),
      /config\/src\/empty\/deeper\/pipe: is not a regular file or folder/,
    ],
  ];
  for (const [name, breakIt, expected] of cases) {
    const ws = workspace();
    breakIt(join(ws, SECTION, 'src'));
    assert.throws(() => paths(ws, fileMap(ws)), expected, `${name} (file map)`);
    assert.throws(() => paths(ws), expected, `${name} (git)`);
  }
});

test('a listed link to a file ships its target; one that leaves the workspace is refused', () => {
  const ws = workspace();
  symlinkSync('../openapi/api.yaml', join(ws, SECTION, 'src/api.yaml'));
  assert.equal(paths(ws, fileMap(ws)), ['api.yaml', ...SHIPPED]);
  symlinkSync('/etc/hostname', join(ws, SECTION, 'src/hostname'));
  assert.throws(() => paths(ws, fileMap(ws)), /config\/src\/hostname: is a symlink that leaves the workspace/);
});

test('a source folder that is a link, or outside the project, is refused: Nx hashes neither', () => {
  const ws = workspace();
  symlinkSync('src', join(ws, SECTION, 'linked'));
  const resolve = (from: string) => () =>
    resolveSectionSources({
      workspaceRoot: ws,
      projectRoot: SECTION,
      version: '1.0.0',
      sources: [{ from, to: '.' }],
      projectFiles: fileMap(ws),
    });
  assert.throws(resolve('linked'), /config\/linked: is a symlink to a folder/);
  assert.throws(resolve('../scripts'), /config\/project\.json: sources "\.\.\/scripts" is outside the project/);
});

test('an ignored file feeds no generated file; a listed one does', () => {
  const ws = workspace();
  const generate = [{ kind: 'openapi-reference' as const, from: 'openapi/local.yaml', to: 'api/API.md' }];
  const resolve = (projectFiles?: string[]) =>
    resolveSectionSources({ workspaceRoot: ws, projectRoot: SECTION, version: '1.0.0', sources: [], generate, projectFiles });
  writeFileSync(join(ws, SECTION, 'openapi/local.yaml'), OPENAPI);
  assert.equal(
    resolve(fileMap(ws)).map((s) => s.path),
    ['api/API.md'],
  );
  writeFileSync(join(ws, SECTION, '.gitignore'), 'local.yaml\n');
  assert.throws(
    () => resolve(fileMap(ws)),
    /openapi\/local\.yaml: is not in Nx's file map \(git ignores it\), so it cannot make api\/API\.md/,
  );
  assert.throws(() => resolve(), /openapi\/local\.yaml: is not in git \(git ignores it\)/);
});

test('outside a git work tree there is no list, and every file is a source', () => {
  const ws = tempDir('no-git');
  writeTree(ws, { 'src/a.txt': 'a', 'src/debug.log': 'b', 'src/tmp/c.md': 'c', '.gitignore': '*.log\ntmp\n' });
  assert.is(gitFileList(ws, [join(ws, 'src')]).paths, null);
  assert.equal(
    listSourceFiles(join(ws, 'src'), ws).map((f) => f.relativePath),
    ['a.txt', 'debug.log', 'tmp/c.md'],
  );
});

test('one list serves every mapping, and the walk asks git nothing when nothing is unlisted', () => {
  const ws = workspace();
  rmSync(join(ws, SECTION, 'src/tmp'), { recursive: true });
  rmSync(join(ws, SECTION, 'src/scratch'), { recursive: true });
  const list = fileMapList(fileMap(ws));
  // No git on the PATH: the file map alone decides (the other entries are regular files).
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const files = listSourceFiles(join(ws, SECTION, 'src'), ws, list);
    assert.equal(files.map((f) => f.relativePath).sort(), SHIPPED);
  } finally {
    process.env.PATH = path;
  }
});

test.after(cleanTempDirs);
test.run();
