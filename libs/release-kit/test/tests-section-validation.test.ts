import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resetToolCache } from '../src/validation/tools';
import { REQUIRED_TESTS } from '../src/validation/tests';
import { cleanTempDirs, tempDir } from './helpers';
import { copySection, edit, errors, lineOf, packAndValidate, show } from './validation-helpers';

test.after(cleanTempDirs);

test('the shipped tests section has every suite the spec lists, and its Python parses as Python 3.8', async () => {
  const { root } = copySection('tests');
  const report = await packAndValidate('tests', root, 'production');
  assert.equal(errors(report), [], show(report.findings));
  assert.ok(report.checks.includes('required test suites'), report.checks.join('; '));
  assert.ok(report.checks.includes('python syntax (3.8)'), report.checks.join('; '));
  assert.ok(REQUIRED_TESTS.includes('performance/api_property_test.py'));
  assert.ok(REQUIRED_TESTS.includes('performance/vr_performance_validation.py'));
});

test('a missing suite, shipped bytecode, a syntax error and syntax newer than Python 3.8 are errors with file and line', async () => {
  const { root, src } = copySection('tests');
  rmSync(join(src, 'src/performance/vr_performance_validation.py'));
  const loadTest = join(src, 'src/performance/load_test.py');
  edit(loadTest, 'import itertools\n', 'import itertools\ndef broken(:\n');
  edit(
    join(src, 'src/integration/test_runner.py'),
    'def _env(name: str, default: str = "") -> str:\n',
    'def _env(name: str, default: str = "") -> str:\n    match name:\n        case "":\n            pass\n',
  );
  mkdirSync(join(src, 'src/integration/__pycache__'));
  writeFileSync(join(src, 'src/integration/__pycache__/test_runner.cpython-311.pyc'), Buffer.from([0xa7, 0x0d, 0x0d, 0x0a]));
  const report = await packAndValidate('tests', root);
  const found = errors(report).map((f) => `${f.rule} ${f.file}:${f.line ?? '-'} ${f.message}`);
  const bytecode = 'tests/bytecode tests/integration/__pycache__/test_runner.cpython-311.pyc:-';
  assert.ok(
    found.includes(`${bytecode} is compiled Python of one interpreter: delete it, and have git ignore __pycache__/`),
    found.join('\n'),
  );
  assert.ok(
    found.includes(
      "tests/required tests/performance/vr_performance_validation.py:- is a suite the spec's Tests section lists and is missing",
    ),
    found.join('\n'),
  );
  const broken = `python/syntax tests/performance/load_test.py:${lineOf(loadTest, 'def broken(:')} invalid syntax (Python 3.8)`;
  assert.ok(found.includes(broken), found.join('\n'));
  assert.ok(
    found.some((f) =>
      /^python\/syntax tests\/integration\/test_runner\.py:\d+ Pattern matching is only supported in Python 3\.10 and greater/.test(f),
    ),
    found.join('\n'),
  );
  assert.is(report.passed, false);
});

test('without python3 the syntax check is a recorded skip in development and an error in production', async () => {
  const { root } = copySection('tests');
  const bin = tempDir('path');
  for (const tool of ['node', 'bash']) symlinkSync(tool === 'node' ? process.execPath : '/bin/bash', join(bin, tool));
  const saved = process.env.PATH;
  process.env.PATH = bin;
  resetToolCache();
  try {
    const dev = await packAndValidate('tests', root, 'development');
    assert.ok(dev.passed, show(dev.findings));
    assert.ok(
      dev.findings.some((f) => f.severity === 'skip' && /python syntax \(3\.8\) not run: python3 is not installed/.test(f.message)),
      show(dev.findings),
    );
    const prod = await packAndValidate('tests', root, 'production');
    assert.ok(
      errors(prod).some((f) => f.rule === 'tool/missing' && /python3/.test(f.message)),
      show(prod.findings),
    );
  } finally {
    process.env.PATH = saved;
    resetToolCache();
  }
});

test.run();
