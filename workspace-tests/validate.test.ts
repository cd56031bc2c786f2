import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, commitAll, copyWorkspace, nx, tasksRun, tempDir } from './workspace';

// One workspace copy for the whole file: the real `validate` targets, their wiring into
// release:assemble:production, and the development assemble that does not wait for them.
let ws = '';
let env: NodeJS.ProcessEnv = {};
const SECTIONS = ['binaries', 'config', 'scripts', 'kubernetes', 'monitoring', 'docs', 'tests', 'security'];

test.before(() => {
  ws = copyWorkspace('validate');
  env = { XDG_CONFIG_HOME: tempDir('signing-keys') };
});
test.after(cleanUp);

test('nx run-many -t validate passes on the shipped sources and writes one report per section', () => {
  const run = nx(ws, ['run-many', '-t', 'validate', '--output-style=static'], env);
  assert.is(run.status, 0, run.output);
  for (const section of SECTIONS) {
    const file = join(ws, 'dist/validation', section, 'report.json');
    assert.ok(existsSync(file), `${file} missing`);
    const report = JSON.parse(readFileSync(file, 'utf8'));
    assert.is(report.passed, true, `${section}: ${JSON.stringify(report.findings)}`);
    assert.is(report.mode, 'development');
  }
  // Every tool is installed by tools/install-toolchain.sh: no check is skipped.
  assert.match(run.output, 'helm template kubernetes/helm/spacetime-vr');
  assert.not.match(run.output, '[tool/missing]');
});

test('a broken rule fails validate with file, line and rule, and every failure of the run is listed', () => {
  const deployment = join(ws, 'libs/sections/kubernetes/src/base/deployment.yaml');
  const text = readFileSync(deployment, 'utf8');
  writeFileSync(deployment, text.replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'));
  const line = text.split('\n').findIndex((l) => l.includes('readOnlyRootFilesystem')) + 1;
  const alerts = join(ws, 'libs/sections/monitoring/src/prometheus/alerts.yml');
  const alertsText = readFileSync(alerts, 'utf8');
  writeFileSync(alerts, alertsText.replace('expr: up{job="spacetime-vr"} == 0', 'expr: up{job="spacetime-vr" == 0'));
  const alertLine = alertsText.split('\n').findIndex((l) => l.includes('expr: up{job="spacetime-vr"} == 0')) + 1;
  commitAll(ws, 'break two rules');
  const run = nx(ws, ['run-many', '-t', 'validate', '--output-style=static'], env);
  assert.is.not(run.status, 0, run.output);
  assert.match(run.output, `ERROR kubernetes/base/deployment.yaml:${line}: [k8s/read-only-root-filesystem]`);
  assert.match(run.output, `ERROR monitoring/prometheus/alerts.yml:${alertLine}: [promtool/rules]`);
  assert.ok(!tasksRun(run.output).includes('config:validate'), 'config:validate should come from the cache');
});

test('the development assemble does not wait for validation; the production assemble does', () => {
  const dev = nx(ws, ['run', 'release:assemble', '--output-style=static'], env);
  assert.is(dev.status, 0, dev.output);
  assert.match(dev.output, 'validation is not part of the development assemble');
  const prod = nx(ws, ['run', 'release:assemble:production', '--output-style=static'], env);
  assert.is.not(prod.status, 0, prod.output);
  assert.match(prod.output, 'nx run kubernetes:validate-release:production');
  assert.match(prod.output, /ERROR kubernetes\/base\/deployment\.yaml:\d+: \[k8s\/read-only-root-filesystem\]/);
  assert.ok(!/nx run release:assemble:production/.test(prod.output.split('Failed tasks')[0].replace(/Running target assemble.*$/m, '')) || /Tasks not run because their dependencies failed/.test(prod.output), prod.output);
});

test.run();
