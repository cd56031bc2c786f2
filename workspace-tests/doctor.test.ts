import { ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Check } from '../libs/release-kit/src/doctor/check';
import type { DoctorReport } from '../libs/release-kit/src/doctor/doctor';
import { writeGodot4StandIn } from '../libs/release-kit/test/godot-stand-in';
import { standInTemplates } from './production-machine';
import { cleanUp, copyWorkspace, nx, Run, sh, tempDir } from './workspace';

/**
 * `release:doctor` through Nx, held to what the build then does on this machine: its engine verdict
 * against `binaries:export`, and its Docker verdict against a Docker engine it sees stop. The engine
 * is a private dockerd (its own socket, data root, exec root and pid file; no bridge, no iptables
 * rules): the system one stays up for the other tests.
 */
let ws = '';
let env: NodeJS.ProcessEnv = {};
let dockerd: ChildProcess | undefined;

test.before(() => {
  ws = copyWorkspace('doctor');
  env = { XDG_CONFIG_HOME: tempDir('signing-keys') };
});

/** The one JSON document `--json` prints, between Nx's own header and summary lines. */
function report(run: Run): DoctorReport {
  const json = /^\{$[\s\S]*?^\}$/m.exec(run.output);
  assert.ok(json, `no JSON document in:\n${run.output}`);
  return JSON.parse(json![0]);
}

function check(r: DoctorReport, name: string): Check {
  const found = r.checks.find((c) => c.name === name);
  assert.ok(found, `no check ${name} in ${JSON.stringify(r.checks)}`);
  return found!;
}

test('the engine verdict is what binaries:export then does: a skip without Godot 4, an export with it', () => {
  // Godot 3 (/usr/bin/godot3) is on PATH, but no Godot 4.
  const noGodot4 = { ...env, GODOT_BIN: '', PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
  const without = report(nx(ws, ['run', 'release:doctor', '--json'], noGodot4));
  assert.is(without.mode, 'development');
  assert.is(check(without, 'binaries:export engine').status, 'warning');
  assert.match(check(without, 'binaries:export engine').found, /Godot 3\.2\.3.*: the export will be skipped/);
  const skipped = nx(ws, ['run', 'binaries:export'], noGodot4);
  assert.is(skipped.status, 0, skipped.output);
  assert.match(skipped.output, /SKIPPED spacetime-server: the project needs Godot 4/);
  const production = nx(ws, ['run', 'release:doctor:production', '--json'], noGodot4);
  assert.is.not(production.status, 0);
  assert.is(check(report(production), 'binaries:export engine').status, 'error');
  assert.is.not(nx(ws, ['run', 'binaries:export:production'], noGodot4).status, 0);

  const withGodot4 = { ...noGodot4, PATH: `${writeGodot4StandIn(tempDir('godot4'))}:${noGodot4.PATH}`, XDG_DATA_HOME: standInTemplates() };
  const found = report(nx(ws, ['run', 'release:doctor', '--json'], withGodot4));
  assert.is(check(found, 'binaries:export engine').status, 'ok');
  assert.match(
    check(found, 'binaries:export engine').found,
    /^Godot 4\.5\.1\.stable\.official\.0standin at \S+\/godot \(from PATH \(godot\)\)/,
  );
  assert.is(check(found, 'binaries:export export template').status, 'ok');
  assert.is(check(found, 'binaries:export "Linux Server arm64" export template').status, 'ok');
  const exported = nx(ws, ['run', 'binaries:export'], withGodot4);
  assert.is(exported.status, 0, exported.output);
  assert.match(exported.output, 'exported with Godot 4.5.1.stable.official.0standin');
});

test('a private dockerd: release:doctor sees it answer, and once it is stopped names it with a fix', async () => {
  const dir = tempDir('dockerd');
  const socket = join(dir, 'docker.sock');
  const log = join(dir, 'dockerd.log');
  const args = ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid')];
  dockerd = spawn('dockerd', ['--host', `unix://${socket}`, ...args, '--bridge=none', '--iptables=false', '--ip6tables=false'], {
    stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')],
  });
  for (let i = 0; sh(dir, `curl -sf --unix-socket ${socket} http://engine/_ping`).status !== 0; i++) {
    if (i === 60 || dockerd.exitCode !== null) assert.unreachable(`the private dockerd does not answer:\n${readFileSync(log, 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const ownEngine = { ...env, DOCKER_HOST: `unix://${socket}` };
  const up = check(report(nx(ws, ['run', 'release:doctor', '--json'], ownEngine)), 'engine');
  assert.is(up.area, 'Docker');
  assert.is(up.status, 'ok');
  assert.match(up.found, `answers at unix://${socket} (DOCKER_HOST)`);

  await stopDockerd();
  const down = check(report(nx(ws, ['run', 'release:doctor', '--json'], ownEngine)), 'engine');
  assert.is(down.status, 'warning');
  assert.match(down.found, `no Docker engine answers at unix://${socket} (DOCKER_HOST)`);
  // The workspace's Dockerfile is built from files: without an engine the image is still made, but not run.
  assert.match(down.found, 'the image is built from files, but its run before it is kept will be skipped');
  assert.match(down.fix!, 'start dockerd');
  const production = nx(ws, ['run', 'release:doctor', '--configuration=production'], ownEngine);
  assert.is.not(production.status, 0);
  assert.match(
    production.output,
    new RegExp(`ERROR\\s+engine\\s+no Docker engine answers at unix://${socket} \\(DOCKER_HOST\\).*the image build fails`),
  );
  assert.match(production.output, /^\s+fix: start dockerd/m);
});

/** Stops the private dockerd (TERM, then KILL) and waits until it is gone. */
async function stopDockerd(): Promise<void> {
  const child = dockerd;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await gone;
  clearTimeout(timer);
}

test.after(async () => {
  await stopDockerd();
  cleanUp();
});
test.run();
