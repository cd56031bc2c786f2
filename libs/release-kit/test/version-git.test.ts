import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHANGELOG_FILE } from '../src/versioning/changelog';
import { applyVersionBump, planVersionBump, readVersionHistory, VersionPlanInput } from '../src/versioning/version-plan';
import { cleanTempDirs, tempDir } from './helpers';

// The version bump on real git repositories: real commits, annotated and lightweight tags,
// reverts and merges, read back with git itself.

const NOTES = 'notes/N.md';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();
}

function repository(version = '2.5.0'): string {
  const root = tempDir('versioning');
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'config', 'user.name', 'Release Tests');
  git(root, 'config', 'user.email', 'tests@example.invalid');
  writeFileSync(join(root, 'VERSION'), `${version}\n`);
  mkdirSync(join(root, 'notes'));
  writeFileSync(join(root, NOTES), '# old\n\n## Verifying This Release\n\nsha256sum -c SHA256SUMS\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'feat: before the first tag');
  return root;
}

let file = 0;
/** Commits a change with `message` (read by `git commit -F -`, so it may hold any text) and returns the hash. */
function commit(root: string, message: string): string {
  writeFileSync(join(root, `f${++file}`), message);
  git(root, 'add', '-A');
  execFileSync('git', ['commit', '-q', '-F', '-'], { cwd: root, input: message });
  return git(root, 'rev-parse', 'HEAD');
}

/** Plans and applies a bump as release:version does, reading the files from the repository. */
async function bump(root: string, input: Partial<VersionPlanInput> = {}) {
  const read = (p: string) => (existsSync(join(root, p)) ? readFileSync(join(root, p), 'utf8') : undefined);
  const plan = await planVersionBump({
    currentVersion: read('VERSION')!.trim(),
    request: {},
    title: 'Next',
    date: '2026-01-15',
    previousNotes: read(NOTES),
    previousChangelog: read(CHANGELOG_FILE),
    history: readVersionHistory(root),
    ...input,
  });
  applyVersionBump(root, plan, { VERSION: `${plan.version}\n`, [NOTES]: plan.releaseNotes, [CHANGELOG_FILE]: plan.changelog });
  return plan;
}

test('real git: auto from the commits since the last v* tag; VERSION, notes and CHANGELOG.md in one commit; an annotated tag', async () => {
  const root = repository();
  git(root, 'tag', '-a', 'v2.5.0', '-m', 'Release v2.5.0 - Old');
  // Tags that are not versions are not releases.
  git(root, 'tag', 'very-old');
  commit(root, 'feat(vr): one');
  commit(root, 'fix: two');
  commit(root, 'chore: three');
  const history = readVersionHistory(root);
  assert.equal([history.lastTag, history.lastReleaseTag, history.releaseCommits], ['v2.5.0', 'v2.5.0', undefined]);
  assert.equal(
    history.commits.map((x) => x.subject),
    ['feat(vr): one', 'fix: two', 'chore: three'],
  );
  assert.match(history.commits[0].hash, /^[0-9a-f]{40}$/);
  assert.ok(history.tagExists('v2.5.0'));
  assert.not.ok(history.tagExists('v9.9.9'));

  const plan = await bump(root);
  assert.is(plan.version, '2.6.0');
  assert.is(git(root, 'log', '-1', '--format=%s'), 'Bump version to 2.6.0');
  assert.is(git(root, 'show', '--name-only', '--format=', 'HEAD'), `${CHANGELOG_FILE}\nVERSION\n${NOTES}`);
  assert.is(git(root, 'status', '--porcelain'), '');
  assert.is(git(root, 'cat-file', '-t', 'v2.6.0'), 'tag');
  assert.is(git(root, 'tag', '-l', '--format=%(contents:subject)', 'v2.6.0'), 'Release v2.6.0 - Next');
  assert.is(git(root, 'rev-parse', 'v2.6.0^{commit}'), git(root, 'rev-parse', 'HEAD'));
  assert.is(readFileSync(join(root, 'VERSION'), 'utf8'), '2.6.0\n');
  const notes = readFileSync(join(root, NOTES), 'utf8');
  assert.match(notes, /\*\*Type:\*\* minor release \(new features, backward compatible\)\n/);
  assert.match(notes, /## New Features\n\n- \*\*vr:\*\* one \(\w{7}\)\n\n## Fixes\n\n- two \(\w{7}\)\n\n## Verifying This Release\n/);
  assert.match(
    readFileSync(join(root, CHANGELOG_FILE), 'utf8'),
    /\n## \[2\.6\.0\] - 2026-01-15\n\n### Added\n\n- \*\*vr:\*\* one \(\w{7}\)\n\n### Fixed\n\n- two /,
  );

  // The next release counts from the new tag; a breaking feature makes a major release and is listed once.
  assert.equal(readVersionHistory(root).commits, []);
  commit(root, 'feat(api)!: sessions v2');
  const major = await bump(root, { title: 'Sessions' });
  assert.is(major.version, '3.0.0');
  const changelog = readFileSync(join(root, CHANGELOG_FILE), 'utf8');
  assert.equal(
    [...changelog.matchAll(/^## \[(.*?)\]/gm)].map((m) => m[1]),
    ['3.0.0', '2.6.0'],
  );
  assert.is(changelog.match(/sessions v2/g)?.length, 1, changelog);
  assert.match(changelog, /## \[3\.0\.0\] - 2026-01-15\n\n### Breaking Changes\n\n- \*\*api:\*\* sessions v2 \(\w{7}\)\n\n## \[2\.6\.0\]/);
  assert.is(readFileSync(join(root, NOTES), 'utf8').match(/sessions v2/g)?.length, 1);
});

test('real git: a patch with a breaking change is refused and changes nothing; --force makes it and says what it holds', async () => {
  const root = repository();
  git(root, 'tag', 'v2.5.0');
  commit(root, 'fix: close idle connections\n\nBREAKING CHANGE: idle clients are disconnected after 10 s');
  const head = git(root, 'rev-parse', 'HEAD');
  const refused = await bump(root, { request: { bump: 'patch' } }).catch((e: Error) => e);
  assert.instance(refused, Error);
  assert.match((refused as Error).message, /--bump=patch makes 2\.5\.1, a patch release, but the commits since v2\.5\.0 call for a major/);
  assert.is(git(root, 'rev-parse', 'HEAD'), head);
  assert.is(git(root, 'status', '--porcelain'), '');
  assert.not.ok(existsSync(join(root, CHANGELOG_FILE)));

  const forced = await bump(root, { request: { bump: 'patch' }, force: true });
  assert.is(forced.version, '2.5.1');
  const notes = readFileSync(join(root, NOTES), 'utf8');
  assert.match(notes, /\*\*Type:\*\* release with breaking changes, numbered with --force/);
  assert.match(
    notes,
    /## Breaking Changes\n\n- close idle connections: idle clients are disconnected after 10 s \(\w{7}\)\n\n## Verifying/,
  );
});

test('real git: release candidates, a revert, a merge', async () => {
  const root = repository();
  git(root, 'tag', '-a', 'v2.5.0', '-m', 'Release v2.5.0 - Old');
  commit(root, 'feat: lobby');
  assert.is((await bump(root, { request: { preid: 'rc' } })).version, '2.6.0-rc.0');
  // A feature and its revert on a merged branch: together they are nothing.
  git(root, 'checkout', '-q', '-b', 'spectators');
  const feature = commit(root, 'feat: spectator mode');
  git(root, 'revert', '--no-edit', feature);
  git(root, 'checkout', '-q', 'main');
  git(root, 'merge', '-q', '--no-ff', '-m', 'Merge branch spectators', 'spectators');
  commit(root, 'fix!: tokens expire');
  const history = readVersionHistory(root);
  assert.equal([history.lastTag, history.lastReleaseTag], ['v2.6.0-rc.0', 'v2.5.0']);
  assert.equal(
    history.commits.map((x) => x.subject),
    ['feat: spectator mode', 'Revert "feat: spectator mode"', 'fix!: tokens expire'],
  );
  assert.is(history.releaseCommits?.length, 5, 'since v2.5.0: lobby, the bump to rc.0, the feature, its revert and the fix');
  const rc = await bump(root, { request: { preid: 'rc' } });
  assert.equal([rc.version, rc.chosenBy], ['3.0.0-rc.0', 'auto: premajor']);
  const notes = readFileSync(join(root, NOTES), 'utf8');
  assert.not.match(notes, /spectator|lobby|Merge/);
  assert.match(notes, /Changes since v2\.6\.0-rc\.0/);
  assert.match(notes, /\*\*Type:\*\* pre-release of a major release \(breaking changes\)/);
  const final = await bump(root);
  assert.equal([final.version, final.chosenBy], ['3.0.0', 'auto: major']);
  assert.equal(
    [...readFileSync(join(root, CHANGELOG_FILE), 'utf8').matchAll(/^## \[(.*?)\]/gm)].map((m) => m[1]),
    ['3.0.0', '3.0.0-rc.0', '2.6.0-rc.0'],
  );
  await bump(root).then(
    () => assert.unreachable('nothing to release'),
    (e: Error) => assert.match(e.message, /nothing to release: there are no commits since v3\.0\.0/),
  );
});

test('real git: a failed commit puts every file back, including a changelog that did not exist', async () => {
  const root = repository();
  commit(root, 'fix: x');
  // A pre-commit hook that refuses stands in for any git failure.
  writeFileSync(join(root, '.git/hooks/pre-commit'), '#!/bin/sh\necho refused by hook >&2\nexit 1\n', { mode: 0o755 });
  await bump(root, { request: { bump: 'patch' } }).then(
    () => assert.unreachable('the hook refuses'),
    (e: Error) => assert.match(e.message, /git failed while committing 2\.5\.1 \(nothing was changed\): refused by hook/, e.message),
  );
  assert.is(readFileSync(join(root, 'VERSION'), 'utf8'), '2.5.0\n');
  assert.not.ok(existsSync(join(root, CHANGELOG_FILE)));
  assert.is(git(root, 'status', '--porcelain'), '');
  assert.is(git(root, 'tag', '-l'), '');
});

test.after(cleanTempDirs);
test.run();
