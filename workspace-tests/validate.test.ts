import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { productionMachine } from './production-machine';
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

test('the development assemble does not wait for validation; the production assemble validates every section', async () => {
  const dev = nx(ws, ['run', 'release:assemble', '--output-style=static'], env);
  assert.is(dev.status, 0, dev.output);
  assert.not.match(dev.output, 'validate-release');
  // The sections the development assemble just packaged, judged by the production assemble on a machine
  // release:doctor finds ready (Godot 4 through its stand-in; without it the production export stops the graph first).
  const production = ['run', 'release:assemble:production', '--exclude-task-dependencies', '--output-style=static'];
  const withTools = { ...env, ...(await productionMachine()) };
  const prod = nx(ws, production, withTools);
  assert.is.not(prod.status, 0, prod.output);
  assert.match(prod.output, /ERROR kubernetes\/base\/deployment\.yaml:\d+: \[k8s\/read-only-root-filesystem\]/);
  assert.match(prod.output, /kubernetes\/: \d+ checks .*\(production\); report: dist\/validation\/release-gate\/kubernetes\/report\.json/);
  assert.match(
    prod.output,
    /kubernetes\/ failed validation: \d+ failures? \(see dist\/validation\/release-gate\/kubernetes\/report\.json\)/,
  );
  assert.match(prod.output, /^config\/: \d+ checks/m, 'a failed section does not stop the others from being judged');
  const gate = JSON.parse(readFileSync(join(ws, 'dist/validation/release-gate/kubernetes/report.json'), 'utf8'));
  assert.is(gate.mode, 'production');
  assert.is(gate.passed, false);
  // The cached gate gives the same verdict, and a gate report of exactly this content is not judged twice.
  const gates = nx(ws, ['run-many', '-t', 'validate-release', '--output-style=static'], env);
  assert.is.not(gates.status, 0, gates.output);
  assert.match(gates.output, /kubernetes\/ failed validation: \d+ failures? \(listed above\)/);
  const again = nx(ws, production, withTools);
  assert.is.not(again.status, 0, again.output);
  assert.match(again.output, /^kubernetes\/: \d+ checks/m, 'a failed gate report is judged again');
  assert.not.match(again.output, /^config\/: \d+ checks/m, 'a passing gate report of exactly this content is reused');
});

test.run();
