import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nextVersion, tagMessage } from '../src/versioning/bump';
import { dockerTags } from '../src/versioning/docker-tags';
import { groupCommits, parseConventionalCommit, renderReleaseNotes } from '../src/versioning/release-notes';
import { applyVersionBump, planVersionBump, readVersionHistory, VersionHistory } from '../src/versioning/version-plan';
import { cleanTempDirs, tempDir } from './helpers';

const c = (subject: string, body = '', hash = 'abc1234') => ({ hash, subject, body });

test('semver bumps', () => {
  assert.is(nextVersion('2.5.0', { bump: 'major' }), '3.0.0');
  assert.is(nextVersion('2.5.0', { bump: 'minor' }), '2.6.0');
  assert.is(nextVersion('2.5.0', { bump: 'patch' }), '2.5.1');
  assert.is(nextVersion('2.5.0', { bump: 'prerelease', preid: 'rc' }), '2.5.1-rc.0');
  assert.is(nextVersion('2.6.0-rc.0', { bump: 'prerelease', preid: 'rc' }), '2.6.0-rc.1');
  assert.is(nextVersion('2.5.0', { bump: 'preminor', preid: 'rc' }), '2.6.0-rc.0');
  assert.is(nextVersion('2.6.0-rc.1', { bump: 'minor' }), '2.6.0');
  assert.is(nextVersion('2.6.0-rc.1', { bump: 'patch' }), '2.6.0');
  assert.is(nextVersion('2.5.0', { version: '3.0.0-beta.1' }), '3.0.0-beta.1');
});

test('a version that is not greater, or a bad request, is refused', () => {
  assert.throws(
    () => nextVersion('2.5.0', { version: '2.5.0' }),
    /the new version 2\.5\.0 is not greater than the current version 2\.5\.0/,
  );
  assert.throws(() => nextVersion('2.5.0', { version: '2.4.9' }), /not greater/);
  assert.throws(() => nextVersion('2.5.0', { version: '2.5.0-rc.1' }), /not greater/);
  assert.throws(() => nextVersion('2.5.0', { version: '2.6' }), /"2\.6" is not a semantic version/);
  assert.throws(() => nextVersion('2.5.0', {}), /either --bump .* or --to=<x\.y\.z>/);
  assert.throws(() => nextVersion('2.5.0', { bump: 'minor', version: '3.0.0' }), /not both/);
  assert.throws(() => nextVersion('2.5.0', { bump: 'huge' as never }), /--bump=huge is not one of/);
  assert.throws(() => nextVersion('2.5.0', { bump: 'prerelease', preid: 'r c' }), /--preid="r c"/);
  assert.throws(() => nextVersion('2.5.0', { bump: 'minor', preid: 'rc' }), /--preid applies to/);
});

test('docker tags: final, pre-release, development, build metadata', () => {
  assert.equal(dockerTags('2.5.0'), ['2.5.0', 'v2.5.0', 'v2.5', 'v2', 'latest']);
  assert.equal(dockerTags('2.6.0-rc.1'), ['2.6.0-rc.1', 'v2.6.0-rc.1']);
  assert.equal(dockerTags('2.5.0', { development: true }), ['dev']);
  assert.equal(dockerTags('2.5.0+build.7'), ['2.5.0_build.7', 'v2.5.0_build.7', 'v2.5', 'v2', 'latest']);
  assert.throws(() => dockerTags('v2.5.0'), /not a semantic version/);
});

test('conventional commits: type, scope, ! and BREAKING CHANGE footers', () => {
  assert.equal(parseConventionalCommit(c('feat(mesh): calmer shard borders')), {
    hash: 'abc1234',
    type: 'feat',
    scope: 'mesh',
    description: 'calmer shard borders',
    breaking: false,
    breakingNote: undefined,
  });
  assert.is(parseConventionalCommit(c('fix!: drop v1 tokens'))!.breakingNote, 'drop v1 tokens');
  assert.is(
    parseConventionalCommit(c('feat: audiences', 'Tokens carry an audience.\n\nBREAKING CHANGE: old tokens are\nrejected\n\nRefs: #12'))!
      .breakingNote,
    'old tokens are rejected',
  );
  assert.is(parseConventionalCommit(c('perf: x', 'BREAKING-CHANGE: y'))!.breakingNote, 'y');
  assert.is(parseConventionalCommit(c('Merge branch main')), undefined);
  assert.is(parseConventionalCommit(c('feat:no space')), undefined);
});

test('grouping keeps feat, fix, perf and breaking changes, oldest first, and leaves the rest out', () => {
  const groups = groupCommits([
    c('feat(vr): adaptive quality', '', 'a1'),
    c('chore: bump deps', '', 'a2'),
    c('fix: close idle connections', '', 'a3'),
    c('perf(tick): faster tick', '', 'a4'),
    c('feat!: new session API', '', 'a5'),
    c('docs: runbook', 'BREAKING CHANGE: runbook moved', 'a6'),
    c('Update README', '', 'a7'),
  ]);
  assert.equal(groups, {
    breaking: [
      { hash: 'a5', text: 'new session API' },
      { hash: 'a6', text: 'runbook moved' },
    ],
    features: [
      { hash: 'a1', scope: 'vr', text: 'adaptive quality' },
      { hash: 'a5', text: 'new session API' },
    ],
    fixes: [{ hash: 'a3', text: 'close idle connections' }],
    performance: [{ hash: 'a4', scope: 'tick', text: 'faster tick' }],
  });
});

test('release notes: exact text, groups in order, the verification section carried over', () => {
  const notes = renderReleaseNotes({
    previousVersion: '2.5.0',
    version: '2.6.0',
    title: 'Faster Shards',
    previousTag: 'v2.5.0',
    changes: groupCommits([
      c('feat(mesh): spill to neighbours', '', 'f1'),
      c('fix: slots', '', 'f2'),
      c('feat!: x', 'BREAKING CHANGE: tokens expire', 'f3'),
    ]),
    previousNotes: '# Old\n\n## Fixes\n\n- old\n\n## Verifying This Release\n\n```bash\n## not a heading\nsha256sum -c SHA256SUMS\n```\n',
  });
  assert.is(
    notes,
    [
      '# SpaceTime VR {{version}}: Faster Shards',
      '',
      '**Release:** {{version}}',
      '**Type:** minor release (backward compatible)',
      '**Previous version:** 2.5.0',
      '',
      'Changes since v2.5.0, from the conventional commit messages (`feat`, `fix`, `perf`, `BREAKING CHANGE`).',
      '',
      '## Breaking Changes',
      '',
      '- tokens expire (f3)',
      '',
      '## New Features',
      '',
      '- **mesh:** spill to neighbours (f1)',
      '- x (f3)',
      '',
      '## Fixes',
      '',
      '- slots (f2)',
      '',
      '## Verifying This Release',
      '',
      '```bash',
      '## not a heading',
      'sha256sum -c SHA256SUMS',
      '```',
      '',
    ].join('\n'),
  );
  const empty = renderReleaseNotes({ previousVersion: '2.5.0', version: '2.5.1-rc.0', title: 'T', changes: groupCommits([]) });
  assert.match(empty, /\*\*Type:\*\* pre-release of a patch release\n/);
  assert.match(empty, /No `feat`, `fix`, `perf` or breaking commits since the first commit\.\n$/);
  assert.is(tagMessage('2.5.0', 'VR Performance Optimizations'), 'Release v2.5.0 - VR Performance Optimizations');
  assert.throws(() => tagMessage('2.5.0', ' '), /--title is missing/);
});

const history = (over: Partial<VersionHistory> = {}): VersionHistory => ({ dirty: [], tagExists: () => false, commits: [], ...over });

test('the plan refuses a dirty tree, an existing tag and a smaller version', () => {
  const base = { currentVersion: '2.5.0', title: 'T' };
  assert.throws(
    () => planVersionBump({ ...base, request: { bump: 'minor' }, history: history({ dirty: [' M VERSION', '?? x'] }) }),
    /not clean; commit or stash these first:\n {4} M VERSION\n {4}\?\? x/,
  );
  assert.throws(
    () => planVersionBump({ ...base, request: { bump: 'minor' }, history: history({ tagExists: (t) => t === 'v2.6.0' }) }),
    /the tag v2\.6\.0 already exists/,
  );
  assert.throws(() => planVersionBump({ ...base, request: { version: '2.0.0' }, history: history() }), /not greater/);
  const plan = planVersionBump({ ...base, request: { bump: 'major' }, history: history({ lastTag: 'v2.5.0' }) });
  assert.equal(
    [plan.version, plan.tag, plan.tagMessage, plan.commitMessage],
    ['3.0.0', 'v3.0.0', 'Release v3.0.0 - T', 'Bump version to 3.0.0'],
  );
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString()
    .trim();
}

test('real git: commits since the last v* tag, then commit "Bump version to X" and the annotated tag', () => {
  const root = tempDir('versioning');
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'config', 'user.name', 'Release Tests');
  git(root, 'config', 'user.email', 'tests@example.invalid');
  writeFileSync(join(root, 'VERSION'), '2.5.0\n');
  mkdirSync(join(root, 'notes'));
  writeFileSync(join(root, 'notes/N.md'), '# old\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'feat: before the tag');
  git(root, 'tag', '-a', 'v2.5.0', '-m', 'Release v2.5.0 - Old');
  for (const [i, msg] of ['feat(vr): one', 'fix: two', 'chore: three'].entries()) {
    writeFileSync(join(root, `f${i}`), msg);
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', msg, ...(i === 1 ? ['-m', 'BREAKING CHANGE: three'] : []));
  }
  const h = readVersionHistory(root);
  assert.is(h.lastTag, 'v2.5.0');
  assert.equal(
    h.commits.map((x) => x.subject),
    ['feat(vr): one', 'fix: two', 'chore: three'],
  );
  assert.is(h.commits[1].body, 'BREAKING CHANGE: three');
  assert.ok(h.tagExists('v2.5.0'));
  assert.not.ok(h.tagExists('v9.9.9'));
  const plan = planVersionBump({ currentVersion: '2.5.0', request: { bump: 'minor' }, title: 'Next', history: h });
  applyVersionBump(root, plan, { VERSION: '2.6.0\n', 'notes/N.md': plan.releaseNotes });
  assert.is(git(root, 'log', '-1', '--format=%s'), 'Bump version to 2.6.0');
  assert.is(git(root, 'status', '--porcelain'), '');
  assert.is(git(root, 'cat-file', '-t', 'v2.6.0'), 'tag');
  assert.is(git(root, 'tag', '-l', '--format=%(contents:subject)', 'v2.6.0'), 'Release v2.6.0 - Next');
  assert.is(git(root, 'rev-parse', 'v2.6.0^{commit}'), git(root, 'rev-parse', 'HEAD'));
  assert.is(readFileSync(join(root, 'VERSION'), 'utf8'), '2.6.0\n');
  assert.match(readFileSync(join(root, 'notes/N.md'), 'utf8'), /## Breaking Changes\n\n- three \(\w+\)\n/);
  // Now the history starts at the new tag, and the same version is refused.
  const after = readVersionHistory(root);
  assert.is(after.lastTag, 'v2.6.0');
  assert.equal(after.commits, []);
  assert.throws(
    () => planVersionBump({ currentVersion: '2.5.0', request: { version: '2.6.0' }, title: 'x', history: after }),
    /tag v2\.6\.0 already exists/,
  );
});

test('real git: a failed commit puts the files back', () => {
  const root = tempDir('versioning');
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'config', 'user.name', 'Release Tests');
  git(root, 'config', 'user.email', 'tests@example.invalid');
  writeFileSync(join(root, 'VERSION'), '2.5.0\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'init');
  const plan = planVersionBump({ currentVersion: '2.5.0', request: { bump: 'patch' }, title: 'x', history: readVersionHistory(root) });
  // A pre-commit hook that refuses stands in for any git failure.
  writeFileSync(join(root, '.git/hooks/pre-commit'), '#!/bin/sh\necho refused by hook >&2\nexit 1\n', { mode: 0o755 });
  assert.throws(
    () => applyVersionBump(root, plan, { VERSION: '2.5.1\n' }),
    /git failed while committing 2\.5\.1 \(nothing was changed\): refused by hook/,
  );
  assert.is(readFileSync(join(root, 'VERSION'), 'utf8'), '2.5.0\n');
  assert.is(git(root, 'status', '--porcelain'), '');
  assert.is(git(root, 'tag', '-l'), '');
});

test.after(cleanTempDirs);
test.run();
