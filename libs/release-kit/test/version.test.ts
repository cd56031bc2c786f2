import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isPrerelease, readVersion } from '../src/versioning/version-file';
import { cleanTempDirs, tempDir } from './helpers';

function versionFile(content: string): string {
  const file = join(tempDir(), 'VERSION');
  writeFileSync(file, content);
  return file;
}

test('reads a semantic version with or without a trailing newline', () => {
  assert.is(readVersion(versionFile('2.5.0\n')), '2.5.0');
  assert.is(readVersion(versionFile('3.0.0-rc.1+build.7')), '3.0.0-rc.1+build.7');
  assert.ok(isPrerelease('3.0.0-rc.1'));
  assert.not.ok(isPrerelease('3.0.0'));
});

for (const bad of ['2.5', 'v2.5.0', '2.5.0 ', '02.5.0', '', 'two']) {
  test(`rejects "${bad}" naming the file and line`, () => {
    const file = versionFile(`${bad}\n`);
    assert.throws(
      () => readVersion(file),
      (e: Error) => e.message.startsWith(`${file}:1: `) && /not a semantic version/.test(e.message),
    );
  });
}

test('rejects a second line and a missing file', () => {
  assert.throws(() => readVersion(versionFile('2.5.0\n2.6.0\n')), /:2: VERSION must hold exactly one line/);
  assert.throws(() => readVersion(join(tempDir(), 'VERSION')), /VERSION: the VERSION file is missing/);
});

test.after(cleanTempDirs);
test.run();
