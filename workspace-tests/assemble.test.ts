import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { productionMachine } from './production-machine';
import { cleanUp, commitAll, copyWorkspace, nx, sh, tasksFromCache, tasksRun, tempDir } from './workspace';

const SECTIONS = ['binaries', 'config', 'scripts', 'kubernetes', 'monitoring', 'docs', 'tests', 'security'];
// binaries:package runs in the assemble's configuration, after the Godot export and the image it packages.
const PACKAGE_TASKS = [
  ...SECTIONS.map((s) => (s === 'binaries' ? 'binaries:package:development' : `${s}:package`)),
  'binaries:export:development',
  'binaries:image:development',
].sort();
let ws = '';
let env: NodeJS.ProcessEnv = {};
let pkg = '';
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

test.before(() => {
  ws = copyWorkspace('assemble');
  env = { XDG_CONFIG_HOME: tempDir('signing-keys') };
  pkg = join(ws, 'dist/release/spacetime-vr-v2.5.0');
});

test("release:assemble builds the package of the spec, and a recipient's tools accept it", () => {
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  for (const task of [...PACKAGE_TASKS, 'release:assemble:development'])
    assert.ok(tasksRun(run.output).includes(task), `${task} did not run`);
  assert.match(run.output, /SKIPPED binaries\/spacetime-server: /);
  assert.match(run.output, /SIGNED WITH THE DEVELOPMENT KEY/);

  // The spec's own "Package Validation" commands.
  const checks = sh(
    pkg,
    [
      ...SECTIONS.map((d) => `test -d ${d} && echo "✓ ${d}/"`),
      ...['RELEASE_NOTES.md', 'DEPLOYMENT_CHECKLIST.md', 'MANIFEST.json', 'SHA256SUMS'].map((f) => `test -f ${f} && echo "✓ ${f}"`),
    ].join('; '),
  );
  assert.is(checks.output.split('\n').filter((l) => l.startsWith('✓')).length, 12, checks.output);
  const sums = sh(pkg, 'sha256sum -c SHA256SUMS');
  assert.is(sums.status, 0, sums.output);
  assert.not.match(sums.output, /FAILED/);

  const gnupg = tempDir('gnupg');
  const gpg = sh(
    pkg,
    `chmod 700 ${gnupg} && gpg --batch --import ../release-signing-key.asc && gpg --batch --verify SHA256SUMS.asc SHA256SUMS`,
    { GNUPGHOME: gnupg },
  );
  assert.is(gpg.status, 0, gpg.output);
  assert.match(gpg.output, /Good signature/);

  const tar = sh(join(ws, 'dist/release'), 'tar -tzf spacetime-vr-v2.5.0.tar.gz');
  assert.is(tar.status, 0, tar.output);
  for (const path of [
    'kubernetes/overlays/production/kustomization.yaml',
    'docs/api/API_REFERENCE.md',
    'binaries/VERSION.txt',
    'scripts/migration/migrate_database.sh',
    'SHA256SUMS.asc',
  ]) {
    assert.ok(tar.output.includes(`spacetime-vr-v2.5.0/${path}\n`), `tar.gz lacks ${path}`);
  }
  assert.is(sh(join(ws, 'dist/release'), 'unzip -tq spacetime-vr-v2.5.0.zip').status, 0);

  const manifest = JSON.parse(readFileSync(join(pkg, 'MANIFEST.json'), 'utf8'));
  assert.equal(
    manifest.skipped.map((s: { artifact: string }) => s.artifact),
    ['binaries/spacetime-server', 'binaries/spacetime-vr-2.5.0.tar.gz'],
  );
  assert.is(manifest.version, '2.5.0');
  assert.is(manifest.git_branch, 'main');
  assert.is(readFileSync(join(pkg, 'binaries/VERSION.txt'), 'utf8'), '2.5.0\n');
  assert.not.match(readFileSync(join(pkg, 'docs/deployment/DEPLOYMENT_GUIDE.md'), 'utf8'), '{{version}}');

  // Without a validation run, the checklist says so instead of claiming a pass; the signature item fails.
  const checklist = readFileSync(join(pkg, 'security/reports/security-checklist.md'), 'utf8');
  assert.is(checklist.split('\n').filter((l) => /^- \[[ x]\] (PASS|FAIL|MANUAL): \*\*/.test(l)).length, 10, checklist);
  assert.match(checklist, '- [ ] MANUAL: **Kubernetes manifests validated**\n  - no validation report for this build of kubernetes/');
  assert.match(checklist, '- [ ] FAIL: **Package signed with GPG**');

  const verify = nx(ws, ['run', 'release:verify'], env);
  assert.is(verify.status, 0, verify.output);
  assert.match(
    verify.output,
    /verified \d+ files, SHA256SUMS, signature by [0-9A-F]{40}, MANIFEST\.json, \.tar\.gz and \.zip, provenance attestation \(built by \S+\)/,
  );
});

test('a rerun with no change takes every section task from the cache, and assemble finds the package up to date', () => {
  const before = sha(join(ws, 'dist/release/spacetime-vr-v2.5.0.tar.gz'));
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  // release:assemble is not Nx-cached (it would copy and re-hash the archives every run): it checks its own state.
  assert.equal(tasksRun(run.output), ['release:assemble:development']);
  for (const task of PACKAGE_TASKS) assert.ok(tasksFromCache(run.output).includes(task), `${task} was not a cache hit`);
  assert.match(run.output, /spacetime-vr-v2\.5\.0 is up to date/);
  assert.is(sha(join(ws, 'dist/release/spacetime-vr-v2.5.0.tar.gz')), before);
});

test('a committed one-file change reruns only its section and assemble; affected selects only it', () => {
  appendFileSync(join(ws, 'libs/sections/config/src/staging/.env.template'), '# reviewed for 2.5.0\n');
  commitAll(ws, 'config: note staging review');
  const affected = nx(ws, ['show', 'projects', '--affected', '-t', 'package', '--base=HEAD~1', '--head=HEAD']);
  assert.is(affected.status, 0, affected.output);
  assert.equal(affected.output.trim().split('\n').filter(Boolean), ['config']);
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  assert.equal(
    tasksRun(run.output).filter((t) => !t.includes(':validate')),
    ['config:package', 'release:assemble:development'],
  );
  assert.match(readFileSync(join(pkg, 'config/staging/.env.template'), 'utf8'), /# reviewed for 2\.5\.0\n$/);
});

test('a new commit that changes no section source reruns only assemble', () => {
  commitAll(ws, 'chore: empty commit');
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  assert.equal(tasksRun(run.output), ['release:assemble:development']);
  const manifest = JSON.parse(readFileSync(join(pkg, 'MANIFEST.json'), 'utf8'));
  assert.is(manifest.git_commit, sh(ws, 'git rev-parse HEAD').output.trim());
});

test('release:assemble runs with the smaller young generation that libs/release/.env.assemble sets', () => {
  // A git on PATH that records the NODE_OPTIONS of the task process that starts it (assemble reads git metadata).
  const dir = tempDir('git-probe');
  const log = join(dir, 'calls');
  writeFileSync(
    join(dir, 'git'),
    `#!/bin/sh\necho "$NX_TASK_TARGET_PROJECT:$NX_TASK_TARGET_TARGET $NODE_OPTIONS" >> ${log}\n` +
      `exec ${sh(ws, 'command -v git').output.trim()} "$@"\n`,
    { mode: 0o755 },
  );
  const run = nx(ws, ['run', 'release:assemble'], { ...env, PATH: `${dir}:${process.env.PATH}` });
  assert.is(run.status, 0, run.output);
  const calls = readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('release:assemble '));
  assert.ok(calls.length > 0, 'assemble started no git: the probe cannot tell');
  for (const call of calls) assert.match(call, / --max-semi-space-size=4$/);
});

test('release:assemble:production refuses what release:doctor calls a build error, then skips and the development key', async () => {
  const before = sha(join(ws, 'dist/release/spacetime-vr-v2.5.0.tar.gz'));
  // Without Godot 4 the production export fails first.
  const run = nx(ws, ['run', 'release:assemble:production'], env);
  assert.is.not(run.status, 0);
  assert.match(run.output, /binaries:export:production/);
  assert.match(run.output, /cannot export the server: (the project needs Godot 4|no Godot engine)/);
  // Without the dependencies, the assembly asks release:doctor first and lists each build error with its fix.
  const toolless = nx(ws, ['run', 'release:assemble:production', '--exclude-task-dependencies'], {
    ...env,
    GODOT_BIN: join(tempDir('no-godot'), 'godot'),
  });
  assert.is.not(toolless.status, 0);
  assert.match(toolless.output, 'release:doctor finds what a production build refuses:');
  assert.match(
    toolless.output,
    /- Engine binaries:export engine: the project needs Godot 4: \S+\/no-godot-\w+\/godot from GODOT_BIN does not answer/,
  );
  assert.match(toolless.output, /\n\s+fix: install Godot 4\.5 /);
  // A machine ready for production but for the key: the development key is the one error.
  const machine = await productionMachine();
  const keyless = nx(ws, ['run', 'release:assemble:production', '--exclude-task-dependencies'], {
    ...env,
    ...machine,
    RELEASE_SIGNING_KEY: '',
  });
  assert.is.not(keyless.status, 0);
  assert.match(
    keyless.output,
    /- Signing release signing key: the development key [0-9A-F]{40} .*: a production release refuses it\n\s+fix: set RELEASE_SIGNING_KEY/,
  );
  assert.not.match(keyless.output, /^\s+- (Engine|Docker|Source|Tools) /m);
  // With nothing for release:doctor to refuse, the release itself is judged: the development build skipped the server.
  const skipped = nx(ws, ['run', 'release:assemble:production', '--exclude-task-dependencies'], { ...env, ...machine });
  assert.is.not(skipped.status, 0);
  assert.not.match(skipped.output, 'release:doctor finds', skipped.output);
  assert.match(skipped.output, /a production release cannot be built/);
  assert.match(skipped.output, /binaries\/spacetime-server was skipped/);
  assert.is(sha(join(ws, 'dist/release/spacetime-vr-v2.5.0.tar.gz')), before);
});

test.after(cleanUp);
test.run();
