import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanTempDirs, tempDir, tool, toolStatus } from './helpers';
import { buildFixtureRelease, fixtureWorkspace, git } from './fixture-release';

test('the tar.gz and zip are standard: GNU tar, gzip -t, unzip -t and Python zipfile accept them', async () => {
  const result = await buildFixtureRelease(fixtureWorkspace());
  tool('gzip', ['-t', result.tarGz]);
  const listing = tool('tar', ['--numeric-owner', '-tvzf', result.tarGz]);
  assert.match(listing, /^drwxr-xr-x 0\/0 +0 1980-01-01 00:00 spacetime-vr-v1\.2\.3\/$/m);
  assert.match(listing, /^-rwxr-xr-x 0\/0 +\d+ 1980-01-01 00:00 spacetime-vr-v1\.2\.3\/alpha\/deep\/run\.sh$/m);
  assert.match(listing, /^-rw-r--r-- 0\/0 +3145728 1980-01-01 00:00 spacetime-vr-v1\.2\.3\/beta\/server\.bin$/m);
  const names = listing
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/).pop()!);
  assert.equal(
    names,
    [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    'entries sorted bytewise',
  );
  assert.is(toolStatus('unzip', ['-t', result.zip]).status, 0);
  const py = tool('python3', [
    '-c',
    'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))',
    result.zip,
  ]);
  assert.is(Number(py.trim()), names.length);
});

test('extracted archives hold exactly the package folder bytes and modes', async () => {
  const result = await buildFixtureRelease(fixtureWorkspace());
  const fromTar = tempDir('untar');
  const fromZip = tempDir('unzip');
  tool('tar', ['-xzf', result.tarGz, '-C', fromTar]);
  tool('unzip', ['-q', result.zip, '-d', fromZip]);
  const top = 'spacetime-vr-v1.2.3';
  for (const extracted of [fromTar, fromZip]) {
    const diff = toolStatus('diff', ['-r', join(extracted, top), result.packageDir]);
    assert.is(diff.status, 0, diff.output);
  }
  const modes = tool('find', [join(fromTar, top), '-printf', '%m %P\n']);
  assert.match(modes, /^755 alpha\/deep\/run\.sh$/m);
  assert.match(modes, /^644 beta\/image\.tar\.gz$/m);
  assert.match(modes, /^755 beta\/notes$/m);
  assert.is(readFileSync(join(fromTar, top, 'alpha/readme.md'), 'utf8'), 'alpha 1.2.3\n');
});

test('two builds of one commit from two clones, umasks and time zones are byte-identical', async () => {
  const keys = tempDir('shared-keys');
  const origin = fixtureWorkspace();
  const first = await buildFixtureRelease(origin, { XDG_CONFIG_HOME: keys });
  const clone = join(tempDir('elsewhere-with-a-longer-path'), 'clone');
  git(tempDir(), 'clone', '-q', origin, clone);
  const oldUmask = process.umask(0o077);
  const oldTz = process.env.TZ;
  process.env.TZ = 'Pacific/Kiritimati';
  try {
    const second = await buildFixtureRelease(clone, { XDG_CONFIG_HOME: keys });
    for (const file of ['tarGz', 'zip', 'publicKey'] as const) {
      assert.ok(readFileSync(first[file]).equals(readFileSync(second[file])), `${file} differs`);
    }
  } finally {
    process.umask(oldUmask);
    process.env.TZ = oldTz;
  }
});

test('the gzip header carries no name, mtime 0 and a fixed OS byte', async () => {
  const result = await buildFixtureRelease(fixtureWorkspace());
  const head = readFileSync(result.tarGz).subarray(0, 10);
  assert.equal([...head], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
});

test.after(cleanTempDirs);
test.run();
