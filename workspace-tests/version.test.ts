import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, commitAll, copyWorkspace, git, nx } from './workspace';

// `nx run release:version` in a temporary git copy of the workspace, with real commits and tags:
// the version picked from the conventional commits, a contradicting bump refused, a dry run on a
// dirty tree, and the commit and tag with VERSION, the release notes and CHANGELOG.md.

let ws = '';
const NOTES = 'libs/release/templates/RELEASE_NOTES.source.md';
const IDENTITY = {
  GIT_AUTHOR_NAME: 'Release Tests',
  GIT_AUTHOR_EMAIL: 'tests@spacetime-vr.invalid',
  GIT_COMMITTER_NAME: 'Release Tests',
  GIT_COMMITTER_EMAIL: 'tests@spacetime-vr.invalid',
};
const status = () => git(ws, 'status', '--porcelain', '--untracked-files=all');
const version = (args: string[]) => nx(ws, ['run', 'release:version', ...args], IDENTITY);

test.before(() => {
  ws = copyWorkspace('version');
  git(ws, 'tag', '-a', 'v2.5.0', '-m', 'Release v2.5.0 - VR Performance Optimizations');
  commitAll(ws, 'feat(mesh): spill players to the nearest shard');
  commitAll(ws, 'fix: close idle connections\n\nBREAKING CHANGE: idle clients are disconnected after 10 s');
});
test.after(cleanUp);

test('a bump lower than the commits call for is refused, naming the commit, and changes nothing', () => {
  const head = git(ws, 'rev-parse', 'HEAD');
  for (const args of [['--bump=minor'], ['--to=2.5.1']]) {
    const run = version([...args, '--title=Faster Shards']);
    assert.is.not(run.status, 0, run.output);
    assert.match(
      run.output,
      /a (minor|patch) release, but the commits since v2\.5\.0 call for a major release:\n\s+\w{7} fix: close idle connections \(BREAKING CHANGE\)/,
    );
    assert.match(run.output, /hint: leave out --bump and --to \(auto\), or give --force/);
    assert.not.match(run.output, /\n\s+at \S+ \(/, 'a stack trace instead of a clear message');
  }
  const bogus = version(['--bump=sideways', '--title=x']);
  assert.is.not(bogus.status, 0, bogus.output);
  assert.match(bogus.output, /sideways/);
  assert.is(git(ws, 'rev-parse', 'HEAD'), head);
  assert.is(status(), '');
});

test('--dry-run works on a dirty tree and changes nothing', () => {
  writeFileSync(join(ws, 'stray.txt'), 'x');
  try {
    const refused = version(['--title=Faster Shards']);
    assert.is.not(refused.status, 0, refused.output);
    assert.match(refused.output, /the git working tree is not clean; commit or stash these first:\s+\?\? stray\.txt/);
    const dry = version(['--title=Faster Shards', '--dry-run']);
    assert.is(dry.status, 0, dry.output);
    assert.match(dry.output, /VERSION 2\.5\.0 -> 3\.0\.0 \(auto: major; major release\)/);
    assert.match(dry.output, /the git working tree is not clean, which a real run refuses: \?\? stray\.txt/);
    assert.match(dry.output, /dry run: would commit "Bump version to 3\.0\.0" and tag v3\.0\.0 "Release v3\.0\.0 - Faster Shards"/);
    // Nx's output drops empty lines.
    assert.match(
      dry.output,
      /CHANGELOG\.md, new entry:\s+## \[3\.0\.0\] - \d{4}-\d\d-\d\d\s+### Breaking Changes\s+- close idle connections/,
    );
    assert.is(status(), '?? stray.txt');
    assert.is(readFileSync(join(ws, 'VERSION'), 'utf8'), '2.5.0\n');
  } finally {
    rmSync(join(ws, 'stray.txt'));
  }
});

test('auto: VERSION, the release notes and CHANGELOG.md in one commit "Bump version to X", and the annotated tag', () => {
  const run = version(['--title=Faster Shards']);
  assert.is(run.status, 0, run.output);
  assert.match(run.output, /VERSION 2\.5\.0 -> 3\.0\.0 \(auto: major; major release\)/);
  assert.is(readFileSync(join(ws, 'VERSION'), 'utf8'), '3.0.0\n');
  assert.is(git(ws, 'log', '-1', '--format=%s'), 'Bump version to 3.0.0');
  assert.is(git(ws, 'show', '--name-only', '--format=', 'HEAD'), `CHANGELOG.md\nVERSION\n${NOTES}`);
  assert.is(git(ws, 'tag', '-l', '--format=%(objecttype) %(contents:subject)', 'v3.0.0'), 'tag Release v3.0.0 - Faster Shards');
  assert.is(git(ws, 'rev-parse', 'v3.0.0^{commit}'), git(ws, 'rev-parse', 'HEAD'));
  assert.is(status(), '');
  const notes = readFileSync(join(ws, NOTES), 'utf8');
  assert.match(
    notes,
    /^# SpaceTime VR \{\{version\}\}: Faster Shards\n\n\*\*Release:\*\* \{\{version\}\}\n\*\*Type:\*\* major release \(breaking changes\)\n/,
  );
  assert.match(
    notes,
    /## Breaking Changes\n\n- close idle connections: idle clients are disconnected after 10 s \(\w{7}\)\n\n## New Features\n\n- \*\*mesh:\*\* spill players to the nearest shard \(\w{7}\)\n\n## Verifying This Release\n/,
  );
  const changelog = readFileSync(join(ws, 'CHANGELOG.md'), 'utf8');
  assert.match(changelog, /^# Changelog\n/);
  assert.match(
    changelog,
    /\n## \[3\.0\.0\] - \d{4}-\d\d-\d\d\n\n### Breaking Changes\n\n- close idle connections: idle clients are disconnected after 10 s \(\w{7}\)\n\n### Added\n\n- \*\*mesh:\*\* spill players/,
  );
  assert.ok(changelog.indexOf('## [3.0.0]') < changelog.indexOf('## [2.5.0]'), 'newest first');

  const again = version(['--to=3.0.0', '--title=Again']);
  assert.is.not(again.status, 0, again.output);
  assert.match(again.output, /the new version 3\.0\.0 is not greater than the current version 3\.0\.0/);
  const nothing = version(['--title=Again']);
  assert.is.not(nothing.status, 0, nothing.output);
  assert.match(nothing.output, /nothing to release: there are no commits since v3\.0\.0/);
  assert.is(status(), '');
});

test.run();
