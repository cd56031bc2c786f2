import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, commitAll, copyWorkspace, nx, tempDir } from './workspace';

// The tests section through its public targets: `tests:package` ships the property-based tests and
// the VR performance validation beside the other suites, and `tests:validate` requires them.
const SUITES = ['performance/api_property_test.py', 'performance/vr_performance_validation.py'];

let ws = '';
let env: NodeJS.ProcessEnv = {};

test.before(() => {
  ws = copyWorkspace('tests-section');
  env = { XDG_CONFIG_HOME: tempDir('keys') };
});
test.after(cleanUp);

test('tests:validate packages both suites, executable and byte for byte, and checks them', () => {
  const run = nx(ws, ['run', 'tests:validate', '--output-style=static'], env);
  assert.is(run.status, 0, run.output);
  const files = JSON.parse(readFileSync(join(ws, 'dist/sections/tests/fragment.json'), 'utf8')).files as Array<{
    path: string;
    mode: number;
    sha256: string;
  }>;
  for (const suite of SUITES) {
    const shipped = files.find((f) => f.path === `tests/${suite}`);
    const source = readFileSync(join(ws, 'libs/sections/tests/src', suite));
    assert.equal([shipped?.mode, shipped?.sha256], [0o755, createHash('sha256').update(source).digest('hex')], suite);
  }
  const report = JSON.parse(readFileSync(join(ws, 'dist/validation/tests/report.json'), 'utf8'));
  assert.ok(report.checks.includes('required test suites') && report.checks.includes('python syntax (3.8)'), report.checks.join('; '));
  assert.is(report.passed, true);
});

test('a suite missing from the section fails tests:validate, naming it', () => {
  rmSync(join(ws, 'libs/sections/tests/src/performance/vr_performance_validation.py'));
  commitAll(ws, 'drop the VR performance validation');
  const run = nx(ws, ['run', 'tests:validate', '--output-style=static'], env);
  assert.is.not(run.status, 0, run.output);
  assert.match(
    run.output,
    "ERROR tests/performance/vr_performance_validation.py: [tests/required] is a suite the spec's Tests section lists and is missing",
  );
});

test.run();
