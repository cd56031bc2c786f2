// A file git ignores, put in a section's source folder, never ships: not when the package task
// comes from the cache (Nx leaves ignored files out of the hash), not when it runs. A section ships
// the files of Nx's own file map, which is what the hash is made of.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, commitAll, copyWorkspace, git, nx, sh, tasksFromCache, tasksRun, tempDir } from './workspace';

const TOP = 'spacetime-vr-v2.5.0';
const PASSWORD = `local-only-${createHash('sha256').update(String(process.pid)).digest('hex').slice(0, 16)}`;

/** Ignored files in four sections, each by another rule: the repository's .gitignore, or the section's own. */
const IGNORED = [
  { file: 'libs/sections/config/src/.env.local', shipped: 'config/.env.local', data: `DB_PASSWORD=${PASSWORD}\n`, rule: '.env.local' },
  { file: 'libs/sections/scripts/src/deployment/debug.log', shipped: 'scripts/deployment/debug.log', data: 'debug\n', rule: '*.log' },
  { file: 'libs/sections/docs/src/tmp/notes.md', shipped: 'docs/tmp/notes.md', data: '# notes\n', rule: 'tmp' },
  {
    file: 'libs/sections/kubernetes/src/helm/spacetime-vr/values-local.yaml',
    shipped: 'kubernetes/helm/spacetime-vr/values-local.yaml',
    data: `database:\n  password: ${PASSWORD}\n`,
    rule: 'values-local.yaml',
  },
];
const SECTIONS_WITH_IGNORED = ['config:package', 'docs:package', 'kubernetes:package', 'scripts:package'];

let ws = '';
let env: NodeJS.ProcessEnv = {};
const release = () => join(ws, 'dist/release');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

test.before(() => {
  ws = copyWorkspace('ignored-files');
  env = { XDG_CONFIG_HOME: tempDir('signing-keys') };
  // The kubernetes section ignores local value overrides itself, as a chart's users would.
  writeFileSync(join(ws, 'libs/sections/kubernetes/.gitignore'), 'values-local.yaml\n');
  commitAll(ws, 'kubernetes ignores local values');
});
test.after(cleanUp);

function writeIgnoredFiles(): void {
  for (const { file, data } of IGNORED) {
    mkdirSync(dirname(join(ws, file)), { recursive: true });
    writeFileSync(join(ws, file), data);
  }
  for (const { file, rule } of IGNORED) {
    const check = sh(ws, `git check-ignore -v '${file}'`);
    assert.is(check.status, 0, `${file} is not ignored`);
    assert.match(check.output, rule, `${file} is ignored by another rule: ${check.output}`);
  }
}

/** Every place an ignored file could show up: the package folder, both archives, the fragments, the manifest. */
function assertNoIgnoredFileShips(when: string): void {
  const folder = join(release(), TOP);
  const tar = sh(release(), `tar -tzf ${TOP}.tar.gz`);
  assert.is(tar.status, 0, tar.output);
  const zip = sh(release(), `unzip -Z1 ${TOP}.zip`);
  assert.is(zip.status, 0, zip.output);
  const manifest = readFileSync(join(folder, 'MANIFEST.json'), 'utf8');
  for (const { shipped } of IGNORED) {
    const section = shipped.split('/')[0];
    const fragment = readFileSync(join(ws, 'dist/sections', section, 'fragment.json'), 'utf8');
    const inSection = shipped.slice(section.length + 1);
    assert.not.ok(statSync(join(folder, shipped), { throwIfNoEntry: false }), `${when}: ${shipped} is in the package folder`);
    assert.not.ok(tar.output.split('\n').includes(`${TOP}/${shipped}`), `${when}: ${shipped} is in the .tar.gz`);
    assert.not.ok(zip.output.split('\n').includes(`${TOP}/${shipped}`), `${when}: ${shipped} is in the .zip`);
    assert.not.ok(manifest.includes(`"${shipped}"`), `${when}: ${shipped} is in MANIFEST.json`);
    assert.not.ok(fragment.includes(`"${inSection}"`), `${when}: ${inSection} is in ${section}'s fragment`);
  }
  // Nor do their bytes, anywhere in the outputs or the Nx cache.
  const grep = sh(ws, `grep -rl --binary-files=text '${PASSWORD}' dist .nx/cache`);
  assert.is(grep.output.trim(), '', `${when}: the ignored password is in ${grep.output}`);
  // The package the recipient gets checks out, and holds the section's other files.
  assert.ok(tar.output.includes(`${TOP}/config/`) && tar.output.includes(`${TOP}/kubernetes/helm/spacetime-vr/values.yaml`));
  const sums = sh(folder, 'sha256sum -c --quiet SHA256SUMS');
  assert.is(sums.status, 0, sums.output);
}

const archives = () => [`${TOP}.tar.gz`, `${TOP}.zip`].map((name) => sha(join(release(), name)));

test('ignored files put in four sections ship neither from the cache nor when the tasks run again', () => {
  const first = nx(ws, ['run-many', '-t', 'package'], env);
  assert.is(first.status, 0, first.output);
  const built = nx(ws, ['run', 'release:assemble'], env);
  assert.is(built.status, 0, built.output);
  const before = archives();

  writeIgnoredFiles();
  const cached = nx(ws, ['run-many', '-t', 'package'], env);
  assert.is(cached.status, 0, cached.output);
  // Nx hashes no ignored file: the sections that hold one come from the cache.
  for (const task of SECTIONS_WITH_IGNORED) assert.ok(tasksFromCache(cached.output).includes(task), `${task} ran: ${cached.output}`);
  const assembled = nx(ws, ['run', 'release:assemble'], env);
  assert.is(assembled.status, 0, assembled.output);
  assertNoIgnoredFileShips('from the cache');
  assert.equal(archives(), before, 'the package changed');

  // Run for real: the same file list, so the same package.
  const again = nx(ws, ['run-many', '-t', 'package', '--skip-nx-cache'], env);
  assert.is(again.status, 0, again.output);
  for (const task of SECTIONS_WITH_IGNORED) assert.ok(tasksRun(again.output).includes(task), `${task} did not run: ${again.output}`);
  const reassembled = nx(ws, ['run', 'release:assemble', '--skip-nx-cache'], env);
  assert.is(reassembled.status, 0, reassembled.output);
  assertNoIgnoredFileShips('with --skip-nx-cache');
  assert.equal(archives(), before, 'the package differs between a cache hit and a run');
});

test('an untracked file that git does not ignore is a source: it enters the hash and ships', () => {
  const file = 'libs/sections/docs/src/operations/untracked-guide.md';
  writeFileSync(join(ws, file), '# A guide not committed yet\n');
  assert.is(git(ws, 'status', '--porcelain', '--', file), `?? ${file}`);
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  assert.ok(tasksRun(run.output).includes('docs:package'), 'docs:package came from the cache');
  assert.ok(statSync(join(release(), TOP, 'docs/operations/untracked-guide.md')).isFile());
  assertNoIgnoredFileShips('beside an untracked source');
});

test('the ignored files are still in the workspace (nothing deleted them)', () => {
  for (const { file } of IGNORED) assert.ok(readdirSync(dirname(join(ws, file))).includes(file.split('/').pop()!), file);
});

test.run();
