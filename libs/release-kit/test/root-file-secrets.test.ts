import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReleaseError } from '../src/support/errors';
import { buildFixtureRelease, fixtureWorkspace, git } from './fixture-release';
import { cleanTempDirs } from './helpers';

test.after(cleanTempDirs);

// Built from pieces so that this file holds no key-shaped string itself.
const FAKE_KEY = ['AKIA', 'Z7QXW2RTYU4OPL3M'].join('');

test('a commit message holding a secret stops the assembly: RELEASE_NOTES.md is named, the value is not', async () => {
  const root = fixtureWorkspace();
  writeFileSync(join(root, 'libs/sections/alpha/src/readme.md'), 'alpha {{version}} again\n');
  git(root, '-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', 'commit', '-qam', `fix: rotate ${FAKE_KEY}`);
  try {
    await buildFixtureRelease(root);
    assert.unreachable('the assembly shipped a secret in its release notes');
  } catch (e) {
    assert.instance(e, ReleaseError);
    assert.match((e as Error).message, /^RELEASE_NOTES\.md:\d+: looks like an AWS access key id/);
    assert.not.match((e as Error).message, FAKE_KEY);
  }
});

test('a clean release passes the scan of its root files', async () => {
  const result = await buildFixtureRelease(fixtureWorkspace());
  assert.is(result.upToDate, false);
});

test.run();
