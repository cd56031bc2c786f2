import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as openpgp from 'openpgp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { developmentKeyPath, resolveSigner } from '../src/assemble/signing';
import { Check, DoctorInput, GodotExportTarget } from '../src/doctor/check';
import { baseImageOf } from '../src/build/docker-image';
import { checkDocker } from '../src/doctor/docker-check';
import { refuseErrors, runDoctor } from '../src/doctor/doctor';
import { checkEngines } from '../src/doctor/engine-check';
import { doctorJson, formatDoctor } from '../src/doctor/format';
import { checkPublishing } from '../src/doctor/publishing-check';
import { checkSigning } from '../src/doctor/signing-check';
import { cleanTempDirs, tempDir, writeTree } from './helpers';
import { writeGodot4StandIn } from './godot-stand-in';
import { startS3Server } from './s3-server';

const root = tempDir('doctor-workspace');

function input(over: Partial<DoctorInput> = {}): DoctorInput {
  return { mode: 'development', workspaceRoot: root, version: '2.5.0', exports: [], images: [], publish: {}, env: {}, ...over };
}

function find(checks: Check[], name: string): Check {
  const check = checks.find((c) => c.name.endsWith(name));
  assert.ok(check, `no check "${name}" in ${JSON.stringify(checks)}`);
  return check!;
}

/** A Godot project with one "Linux Server" preset: Godot 4 (config_version=5, targets 4.5) or Godot 3. */
function godotProject(major: 3 | 4, options = ''): string {
  const dir = tempDir(`godot${major}-project`);
  writeTree(dir, {
    'project.godot': major === 4 ? 'config_version=5\n\n[application]\n\nconfig/features=PackedStringArray("4.5")\n' : 'config_version=4\n',
    'export_presets.cfg':
      `[preset.0]\n\nname="Linux Server"\nplatform="${major === 4 ? 'Linux' : 'Linux/X11'}"\nexport_path=""\n\n` +
      `[preset.0.options]\n\ncustom_template/debug=""\n${options}\n`,
  });
  return dir;
}

function exportOf(projectDir: string, over: Partial<GodotExportTarget> = {}): GodotExportTarget {
  return { target: 'binaries:export', projectDir, preset: 'Linux Server', mode: 'release', outputPath: 'dist/binaries/server', ...over };
}

/** PATH with only the given folder, node (the stand-in's interpreter) and /usr/bin, where Godot 3 is. */
function engineEnv(first?: string): NodeJS.ProcessEnv {
  const home = tempDir('doctor-home');
  return {
    PATH: [first, dirname(process.execPath), '/usr/bin', '/bin'].filter(Boolean).join(':'),
    HOME: home,
    XDG_DATA_HOME: join(home, 'data'),
  };
}

test('engine: the Godot 4 stand-in found as the build finds it; its release template missing, then installed', () => {
  const env = engineEnv(writeGodot4StandIn(tempDir('godot4')));
  const target = exportOf(godotProject(4));
  const missing = checkEngines(input({ exports: [target], env }));
  assert.match(
    find(missing.checks, 'engine').found,
    /^Godot 4\.5\.1\.stable\.official\.0standin at .*\/godot \(from PATH \(godot\)\); the project needs Godot 4\.5$/,
  );
  const template = join(env.XDG_DATA_HOME!, 'godot/export_templates/4.5.1.stable/linux_release.x86_64');
  const templateCheck = find(missing.checks, 'export template');
  assert.is(templateCheck.status, 'error');
  assert.match(templateCheck.found, `${template} is missing: the export of "Linux Server" (release) fails`);
  assert.match(templateCheck.fix!, 'install the export templates of Godot 4.5.1.stable into');
  assert.equal(missing.exported, []);

  mkdirSync(dirname(template), { recursive: true });
  writeFileSync(template, 'template');
  const installed = checkEngines(input({ exports: [target], env, mode: 'production' }));
  assert.equal(
    installed.checks.map((c) => [c.name, c.status]),
    [
      ['binaries:export preset', 'ok'],
      ['binaries:export engine', 'ok'],
      ['binaries:export export template', 'ok'],
    ],
  );
  assert.equal(installed.exported, ['dist/binaries/server']);
  // Debug exports read the debug template; a pack export reads none.
  assert.match(
    find(checkEngines(input({ exports: [{ ...target, mode: 'debug' }], env })).checks, 'template').found,
    /linux_debug\.x86_64 is missing/,
  );
  assert.not.ok(checkEngines(input({ exports: [{ ...target, mode: 'pack' }], env })).checks.some((c) => c.name.endsWith('template')));
});

test('engine: a custom_template/release overrides the installed templates, relative to the project', () => {
  const env = engineEnv(writeGodot4StandIn(tempDir('godot4')));
  const project = godotProject(4, 'custom_template/release="templates/server.x86_64"');
  const missing = find(checkEngines(input({ exports: [exportOf(project)], env })).checks, 'export template');
  assert.is(missing.status, 'error');
  assert.match(missing.found, `custom_template/release names ${join(project, 'templates/server.x86_64')} is missing`);
  writeTree(project, { 'templates/server.x86_64': 'custom' });
  assert.is(find(checkEngines(input({ exports: [exportOf(project)], env })).checks, 'export template').status, 'ok');
});

test('engine: only Godot 3 for a Godot 4 project is a skip in development and an error in production', () => {
  const env = { ...engineEnv(), GODOT_BIN: '' };
  const target = exportOf(godotProject(4));
  const dev = checkEngines(input({ exports: [target], env }));
  const engine = find(dev.checks, 'engine');
  assert.is(engine.status, 'warning');
  assert.match(
    engine.found,
    /^the project needs Godot 4: \/usr\/bin\/godot3 from PATH \(godot3\) is Godot 3\.2\.3\.stable\.custom_build: the export will be skipped/,
  );
  assert.match(engine.fix!, /install Godot 4\.5 .* set GODOT_BIN/);
  assert.equal(dev.exported, []);
  const production = find(checkEngines(input({ exports: [target], env, mode: 'production' })).checks, 'engine');
  assert.is(production.status, 'error');
  assert.match(production.found, /: the export fails$/);
  // GODOT_BIN is used as given, like the build uses it.
  const explicit = find(checkEngines(input({ exports: [target], env: { ...env, GODOT_BIN: '/usr/bin/godot3' } })).checks, 'engine');
  assert.match(explicit.found, 'the project needs Godot 4: /usr/bin/godot3 from GODOT_BIN is Godot 3.2.3');
});

test('engine: real Godot 3 for a Godot 3 project, with Godot 3 template names; an older Godot 4 minor is a warning', () => {
  const env = engineEnv();
  const godot3 = checkEngines(input({ exports: [exportOf(godotProject(3))], env }));
  assert.match(find(godot3.checks, 'engine').found, /^Godot 3\.2\.3\.stable\.custom_build at \/usr\/bin\/godot3/);
  assert.match(
    find(godot3.checks, 'export template').found,
    `${env.XDG_DATA_HOME}/godot/templates/3.2.3.stable/linux_x11_64_release is missing`,
  );

  const older = engineEnv(writeGodot4StandIn(tempDir('godot43'), '4.3.stable.official.77dcf97d8'));
  const checks = checkEngines(input({ exports: [exportOf(godotProject(4))], env: older, mode: 'production' })).checks;
  assert.is(find(checks, 'engine').status, 'warning');
  assert.match(find(checks, 'engine').found, "older than the project's Godot 4.5: the export runs with it");
  assert.match(find(checks, 'export template').found, '/godot/export_templates/4.3.stable/linux_release.x86_64');
});

test('engine: an unknown preset is an error in every mode, before any engine is looked for', () => {
  const checks = checkEngines(input({ exports: [exportOf(godotProject(4), { preset: 'Nope' })], env: engineEnv() })).checks;
  assert.equal(
    checks.map((c) => [c.name, c.status]),
    [['binaries:export preset', 'error']],
  );
  assert.match(checks[0].found, 'has no preset "Nope" (it has "Linux Server")');
});

test('docker: the base image comes from the option, BASE_IMAGE or the Dockerfile default, FROM with its ARGs', () => {
  const dockerfile = 'ARG BASE_IMAGE=debian:bookworm-slim\nARG TAG=1\nFROM --platform=linux/amd64 ${BASE_IMAGE}\nFROM other:$TAG\n';
  assert.is(baseImageOf(dockerfile, undefined), 'debian:bookworm-slim');
  assert.is(baseImageOf(dockerfile, 'mirror.example/debian:12'), 'mirror.example/debian:12');
  assert.is(baseImageOf('ARG TAG=3.19\nFROM alpine:$TAG\n', undefined), 'alpine:3.19');
  assert.is(baseImageOf('FROM scratch\n', undefined), 'scratch');
  assert.is(baseImageOf('ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n', undefined), undefined);
});

const PRESENT = 'spacetime-doctor-test:present';

test('docker: an answering engine, a base image it has, one nobody can pull, and an address where nothing listens', async () => {
  execFileSync('bash', ['-c', `tar -c -T /dev/null | docker import - ${PRESENT}`], { stdio: 'ignore' });
  const dir = tempDir('doctor-docker');
  writeFileSync(join(dir, 'Dockerfile'), 'ARG BASE_IMAGE=spacetime-doctor-test:absent\nFROM ${BASE_IMAGE}\n');
  const image = { target: 'binaries:image', dockerfile: join(dir, 'Dockerfile'), contextPath: 'dist/binaries/server' };

  const present = await checkDocker(input({ images: [image], env: { BASE_IMAGE: PRESENT } }), ['dist/binaries/server']);
  assert.equal(
    present.map((c) => [c.name, c.status]),
    [
      ['engine', 'ok'],
      ['binaries:image base image', 'ok'],
    ],
  );
  assert.match(present[0].found, /^Docker \S+ answers at unix:\/\/\/var\/run\/docker\.sock/);
  assert.match(present[1].found, `${PRESENT} (BASE_IMAGE) is in the engine (sha256:`);

  // Not in the engine and not in any registry it reaches: the build fails, unless its export is skipped anyway.
  const absent = (await checkDocker(input({ images: [image] }), ['dist/binaries/server']))[1];
  assert.is(absent.status, 'error');
  assert.match(absent.found, /^spacetime-doctor-test:absent \(the default in .*Dockerfile\) is not in the engine and cannot be pulled: /);
  assert.match(absent.fix!, 'docker pull spacetime-doctor-test:absent');
  const skipped = (await checkDocker(input({ images: [image] }), []))[1];
  assert.is(skipped.status, 'warning');
  assert.match(skipped.found, 'the image build is skipped anyway (its export writes no server binary)');

  const nothing = { DOCKER_HOST: 'unix:///tmp/nothing.sock' };
  const dev = await checkDocker(input({ images: [image], env: nothing }), ['dist/binaries/server']);
  assert.equal(
    dev.map((c) => [c.name, c.status]),
    [
      ['engine', 'warning'],
      ['binaries:image base image', 'warning'],
    ],
  );
  assert.match(
    dev[0].found,
    /^no Docker engine answers at unix:\/\/\/tmp\/nothing\.sock \(DOCKER_HOST\): .*ENOENT.*the image build will be skipped/,
  );
  assert.match(dev[0].fix!, 'start dockerd');
  const production = await checkDocker(input({ images: [image], env: nothing, mode: 'production' }), []);
  assert.equal(
    production.map((c) => c.status),
    ['error', 'error'],
  );
  assert.match(production[0].found, 'the image build fails');
});

async function releaseKey(dir: string, passphrase: string): Promise<{ file: string; armored: string }> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Release', email: 'release@example.invalid' }],
    passphrase,
    format: 'armored',
  });
  const file = join(dir, 'release-key.asc');
  writeFileSync(file, privateKey, { mode: 0o600 });
  return { file, armored: privateKey };
}

test('signing: the development key is reported, never made; production refuses it', async () => {
  const env = { XDG_CONFIG_HOME: tempDir('doctor-config') };
  const [absent] = await checkSigning(input({ env }));
  assert.is(absent.status, 'warning');
  assert.match(absent.found, `no release key: the first build creates the development key at ${developmentKeyPath(env)}`);
  assert.not.ok(existsSync(developmentKeyPath(env)), 'the doctor made the development key');
  const [refused] = await checkSigning(input({ env, mode: 'production' }));
  assert.is(refused.status, 'error');
  assert.match(refused.fix!, 'set RELEASE_SIGNING_KEY (+ RELEASE_SIGNING_PASSPHRASE) or GPG_KEY_ID');

  const made = await resolveSigner(env);
  const [present] = await checkSigning(input({ env }));
  assert.is(present.status, 'warning');
  assert.match(present.found, `the development key ${made.fingerprint} (${developmentKeyPath(env)}), not fit for production`);
});

test('signing: RELEASE_SIGNING_KEY that unlocks, a wrong passphrase, garbage; no key material or passphrase in the report', async () => {
  const dir = tempDir('doctor-keys');
  const passphrase = 'correct horse battery staple';
  const wrong = 'wrong-guess-42';
  const key = await releaseKey(dir, passphrase);
  const [loads] = await checkSigning(
    input({ env: { RELEASE_SIGNING_KEY: key.file, RELEASE_SIGNING_PASSPHRASE: passphrase }, mode: 'production' }),
  );
  assert.is(loads.status, 'ok');
  assert.match(loads.found, /^RELEASE_SIGNING_KEY: [0-9A-F]{40} loads and unlocks$/);

  const [locked] = await checkSigning(input({ env: { RELEASE_SIGNING_KEY: key.file, RELEASE_SIGNING_PASSPHRASE: wrong } }));
  assert.is(locked.status, 'error');
  assert.match(locked.found, `${key.file}: RELEASE_SIGNING_PASSPHRASE does not unlock this key: every build stops on it`);
  assert.match(locked.fix!, 'RELEASE_SIGNING_PASSPHRASE');

  writeFileSync(join(dir, 'junk.asc'), 'not a key', { mode: 0o600 });
  const [junk] = await checkSigning(input({ env: { RELEASE_SIGNING_KEY: join(dir, 'junk.asc') } }));
  assert.is(junk.status, 'error');
  assert.match(junk.found, 'is not an ASCII-armored OpenPGP private key');
  assert.match(junk.fix!, 'gpg --armor --export-secret-keys');

  const keyLines = key.armored.split('\n').filter((l) => /^[A-Za-z0-9+/=]{20,}$/.test(l));
  for (const secret of [passphrase, wrong]) {
    const report = await runDoctor(input({ env: { ...process.env, RELEASE_SIGNING_KEY: key.file, RELEASE_SIGNING_PASSPHRASE: secret } }));
    for (const text of [formatDoctor(report), doctorJson(report)]) {
      for (const leak of [passphrase, wrong, ...keyLines]) assert.not.ok(text.includes(leak), `the report shows ${leak.slice(0, 12)}...`);
    }
  }
});

test('publishing: a file:// repository that exists, one publish would create (not created here), one under a file', async () => {
  const dir = tempDir('doctor-repo');
  const check = async (url: string) => (await checkPublishing(input({ env: { ARTIFACT_REPO: url } })))[0];
  const existing = await check(`file://${dir}`);
  assert.is(existing.status, 'ok');
  assert.match(existing.found, `file://${dir} (ARTIFACT_REPO): a writable folder`);
  const later = await check(`file://${dir}/a/b`);
  assert.is(later.status, 'ok');
  assert.match(later.found, `publish creates it in ${dir}`);
  assert.not.ok(existsSync(join(dir, 'a')), 'the doctor created the repository');
  writeFileSync(join(dir, 'file'), '');
  const blocked = await check(`file://${dir}/file/repo`);
  assert.is(blocked.status, 'error');
  assert.match(blocked.found, `${join(dir, 'file')} is not a folder`);
  assert.is((await check('ftp://example.invalid/x')).status, 'error');
});

test('publishing: an s3:// repository answering, without its bucket, and where nothing answers', async () => {
  const s3 = await startS3Server(tempDir('doctor-s3'), ['releases']);
  const check = async (url: string) => (await checkPublishing(input({ env: { ...s3.env, ARTIFACT_REPO: url } })))[0];
  try {
    const answers = await check('s3://releases/spacetime');
    assert.is(answers.status, 'ok', answers.found);
    assert.match(answers.found, `s3://releases/spacetime (ARTIFACT_REPO): the bucket answers at ${s3.endpoint}`);
    const noBucket = await check('s3://no-such-bucket/x');
    assert.is(noBucket.status, 'error');
    assert.match(noBucket.found, 'the bucket no-such-bucket does not exist');
  } finally {
    await s3.close();
  }
  const gone = await check('s3://releases/spacetime');
  assert.is(gone.status, 'error');
  assert.match(gone.found, `${s3.endpoint} does not answer (ECONNREFUSED`);
  assert.match(gone.fix!, 'AWS_ENDPOINT_URL');
});

test('publishing: no registry is a skip in development and an error in production; half-set credentials are an error', async () => {
  const registry = async (env: NodeJS.ProcessEnv, mode: 'development' | 'production') => (await checkPublishing(input({ env, mode })))[1];
  assert.is((await registry({}, 'development')).status, 'warning');
  const production = await registry({}, 'production');
  assert.is(production.status, 'error');
  assert.match(production.found, 'DOCKER_REGISTRY is not set: publish cannot push the image');
  const half = await registry({ DOCKER_REGISTRY: '127.0.0.1:1', DOCKER_USERNAME: 'ci' }, 'development');
  assert.is(half.status, 'error');
  assert.match(half.found, 'set both DOCKER_USERNAME and DOCKER_PASSWORD, or neither');
});

test('refuseErrors lists every error of the stage with its fix, and nothing of the other stage', () => {
  const check = (name: string, status: Check['status'], stage: Check['stage']): Check => ({
    area: 'Engine',
    name,
    status,
    found: `${name} found`,
    fix: `${name} fix`,
    stage,
  });
  const report = {
    mode: 'production' as const,
    checks: [check('a', 'error', 'build'), check('b', 'warning', 'build'), check('c', 'error', 'publish'), check('d', 'error', 'build')],
    counts: { ok: 0, warning: 1, error: 3 },
  };
  try {
    refuseErrors(report, 'build');
    assert.unreachable('errors must stop the build');
  } catch (e) {
    assert.is(
      (e as Error).message,
      'release:doctor finds what a production build refuses:\n  - Engine a: a found\n    fix: a fix\n  - Engine d: d found\n    fix: d fix',
    );
  }
  refuseErrors({ ...report, checks: report.checks.filter((c) => c.stage === 'publish' || c.status !== 'error') }, 'build');
});

test.after(() => {
  spawnSync('docker', ['rmi', '-f', PRESENT], { stdio: 'ignore' });
  cleanTempDirs();
});
test.run();
