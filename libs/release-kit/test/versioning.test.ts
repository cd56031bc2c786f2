import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { automaticBump, nextVersion, tagMessage } from '../src/versioning/bump';
import { renderChangelogEntry, updateChangelog } from '../src/versioning/changelog';
import { analyseCommits, CommitMessage } from '../src/versioning/conventional-commits';
import { dockerTags } from '../src/versioning/docker-tags';
import { describeRelease, groupCommits, renderReleaseNotes } from '../src/versioning/release-notes';
import { planVersionBump, VersionHistory, VersionPlanInput } from '../src/versioning/version-plan';

// The engine's versioning without git: SemVer, the conventional-commit analysis, the notes, the
// changelog and the plan's decisions. version-git.test.ts runs the same flow on real repositories.

let n = 0;
const c = (subject: string, body = ''): CommitMessage => ({
  hash: `${(++n).toString(16).padStart(7, '0')}${'0'.repeat(33)}`,
  subject,
  body,
});

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

test('automatic bumps: the level the commits call for, a pre-release continued or made final when it already is of that level', () => {
  const cases: Array<[string, 'major' | 'minor' | 'patch', string | undefined, string | undefined, string]> = [
    ['2.5.0', 'minor', '2.5.0', undefined, '2.6.0'],
    ['2.5.0', 'major', '2.5.0', undefined, '3.0.0'],
    ['2.5.0', 'patch', '2.5.0', undefined, '2.5.1'],
    ['2.5.0', 'minor', '2.5.0', 'rc', '2.6.0-rc.0'],
    // A release candidate of a minor release: more features continue it, a breaking change moves it.
    ['2.6.0-rc.0', 'minor', '2.5.0', 'rc', '2.6.0-rc.1'],
    ['2.6.0-rc.0', 'patch', '2.5.0', undefined, '2.6.0'],
    ['2.6.0-rc.0', 'major', '2.5.0', 'rc', '3.0.0-rc.0'],
    ['2.6.0-rc.0', 'major', '2.5.0', undefined, '3.0.0'],
    ['2.5.1-rc.2', 'patch', '2.5.0', undefined, '2.5.1'],
    ['2.5.1-rc.2', 'minor', '2.5.0', undefined, '2.6.0'],
    ['3.0.0-beta.1', 'major', '2.5.0', 'rc', '3.0.0-rc.0'],
    // Before any final release a pre-release is continued or made final whatever the commits hold.
    ['1.2.0-rc.0', 'major', undefined, undefined, '1.2.0'],
    ['1.2.0-rc.0', 'major', undefined, 'rc', '1.2.0-rc.1'],
  ];
  for (const [current, level, released, preid, expected] of cases) {
    const bump = automaticBump(current, level, released, preid);
    assert.is(nextVersion(current, { bump, preid }), expected, `${current} ${level} after ${released} --preid=${preid}`);
  }
});

test('docker tags: final, pre-release, development, build metadata', () => {
  assert.equal(dockerTags('2.5.0'), ['2.5.0', 'v2.5.0', 'v2.5', 'v2', 'latest']);
  assert.equal(dockerTags('2.6.0-rc.1'), ['2.6.0-rc.1', 'v2.6.0-rc.1']);
  assert.equal(dockerTags('2.5.0', { development: true }), ['dev']);
  assert.equal(dockerTags('2.5.0+build.7'), ['2.5.0_build.7', 'v2.5.0_build.7', 'v2.5', 'v2', 'latest']);
  assert.throws(() => dockerTags('v2.5.0'), /not a semantic version/);
});

test('conventional commits: type (any case), scope, ! and BREAKING CHANGE footers, messages that are not conventional', async () => {
  const commits = [
    c('feat(mesh): calmer shard borders'),
    c('fix!: drop v1 tokens'),
    c('feat: audiences', 'Tokens carry an audience.\n\nBREAKING CHANGE: old tokens are\nrejected\n\nRefs: #12'),
    c('perf: x', 'BREAKING-CHANGE: y'),
    c('FEAT(Lobby): upper-case type'),
    c('Update README'),
  ];
  const { commits: parsed } = await analyseCommits(commits, { preMajor: false });
  assert.equal(
    parsed.map(({ type, scope, subject, breaking }) => ({ type, scope, subject, breaking })),
    [
      { type: 'feat', scope: 'mesh', subject: 'calmer shard borders', breaking: [] },
      { type: 'fix', scope: undefined, subject: 'drop v1 tokens', breaking: ['drop v1 tokens'] },
      { type: 'feat', scope: undefined, subject: 'audiences', breaking: ['old tokens are rejected'] },
      { type: 'perf', scope: undefined, subject: 'x', breaking: ['y'] },
      { type: 'feat', scope: 'Lobby', subject: 'upper-case type', breaking: [] },
      { type: undefined, scope: undefined, subject: 'Update README', breaking: [] },
    ],
  );
  assert.equal(
    parsed.map((p) => p.hash),
    commits.map((m) => m.hash),
  );
});

test('the level the commits call for (conventional-recommended-bump), before and after 1.0.0', async () => {
  const level = async (subjects: Array<string | [string, string]>, preMajor = false) =>
    (
      await analyseCommits(
        subjects.map((s) => (typeof s === 'string' ? c(s) : c(...s))),
        { preMajor },
      )
    ).level;
  assert.is(await level(['fix: a', 'feat!: b', 'feat: c']), 'major');
  assert.is(await level(['fix: a', ['docs: b', 'BREAKING CHANGE: the runbook moved']]), 'major');
  assert.is(await level(['fix: a', 'feat: c', 'chore: d']), 'minor');
  assert.is(await level(['Feat: c']), 'minor');
  assert.is(await level(['fix: a', 'perf: b']), 'patch');
  assert.is(await level(['Update README']), 'patch', 'a message that is not conventional may be a fix');
  assert.is(await level(['chore: a', 'docs: b', 'ci: c', 'test: d']), undefined);
  assert.is(await level([]), undefined);
  assert.is(await level(['feat!: b'], true), 'minor');
  assert.is(await level(['feat: b'], true), 'patch');
});

test('a commit reverted within the range leaves nothing behind; a revert of an older commit is a change', async () => {
  const feature = c('feat: spectator mode');
  const revert = c(`Revert "feat: spectator mode"`, `This reverts commit ${feature.hash}.`);
  const both = await analyseCommits([c('chore: tidy'), feature, revert], { preMajor: false });
  assert.equal(
    both.commits.map((x) => x.subject),
    ['tidy'],
  );
  assert.is(both.level, undefined);
  const older = await analyseCommits([c(`Revert "feat: old"`, `This reverts commit ${'f'.repeat(40)}.`)], { preMajor: false });
  assert.is(older.level, 'patch');
});

test('grouping: a breaking feature or fix is listed once, as a breaking change, with what breaks', async () => {
  const { commits } = await analyseCommits(
    [
      c('feat(vr): adaptive quality'),
      c('chore: bump deps'),
      c('fix: close idle connections', 'BREAKING CHANGE: idle clients are disconnected after 10 s'),
      c('perf(tick): faster tick'),
      c('feat!: new session API'),
      c('docs: runbook', 'BREAKING CHANGE: runbook moved'),
      c('Update README'),
    ],
    { preMajor: false },
  );
  const groups = groupCommits(commits);
  const texts = Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, v.map((e) => `${e.scope ? `${e.scope}: ` : ''}${e.text}`)]));
  assert.equal(texts, {
    breaking: ['close idle connections: idle clients are disconnected after 10 s', 'new session API', 'runbook: runbook moved'],
    features: ['vr: adaptive quality'],
    fixes: [],
    performance: ['tick: faster tick'],
  });
});

test('the release type: named after the changes when --force numbers it lower, so a breaking change is never called a patch', () => {
  assert.is(
    describeRelease({ level: 'major', required: 'major', prerelease: false, holds: 'breaking' }),
    'major release (breaking changes)',
  );
  assert.is(
    describeRelease({ level: 'minor', required: 'minor', prerelease: true, holds: 'features' }),
    'pre-release of a minor release (new features, backward compatible)',
  );
  assert.is(describeRelease({ level: 'patch', prerelease: false, holds: 'none' }), 'patch release (no feature, fix or breaking change)');
  assert.is(
    describeRelease({ level: 'minor', required: 'minor', prerelease: false, holds: 'breaking' }),
    'minor release (breaking changes)',
  );
  const forced = describeRelease({ level: 'patch', required: 'major', prerelease: false, holds: 'breaking' });
  assert.is(forced, 'release with breaking changes, numbered with --force (SemVer calls for a major release)');
  assert.not.match(forced, /patch/);
});

test('release notes: exact text, groups in order, the verification section carried over', async () => {
  n = 0xf0;
  const { commits } = await analyseCommits(
    [c('feat(mesh): spill to neighbours'), c('fix: slots'), c('feat!: x', 'BREAKING CHANGE: tokens expire')],
    { preMajor: false },
  );
  const notes = renderReleaseNotes({
    previousVersion: '2.5.0',
    version: '3.0.0',
    title: 'Faster Shards',
    kind: { level: 'major', required: 'major', prerelease: false, holds: 'breaking' },
    previousTag: 'v2.5.0',
    changes: groupCommits(commits),
    previousNotes: '# Old\n\n## Fixes\n\n- old\n\n## Verifying This Release\n\n```bash\n## not a heading\nsha256sum -c SHA256SUMS\n```\n',
  });
  assert.is(
    notes,
    [
      '# SpaceTime VR {{version}}: Faster Shards',
      '',
      '**Release:** {{version}}',
      '**Type:** major release (breaking changes)',
      '**Previous version:** 2.5.0',
      '',
      'Changes since v2.5.0, from the conventional commit messages (`feat`, `fix`, `perf`, `BREAKING CHANGE`).',
      '',
      '## Breaking Changes',
      '',
      '- x: tokens expire (00000f3)',
      '',
      '## New Features',
      '',
      '- **mesh:** spill to neighbours (00000f1)',
      '',
      '## Fixes',
      '',
      '- slots (00000f2)',
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
  const empty = renderReleaseNotes({
    previousVersion: '2.5.0',
    version: '2.5.1-rc.0',
    title: 'T',
    kind: { level: 'patch', prerelease: true, holds: 'none' },
    changes: groupCommits([]),
  });
  assert.match(empty, /\*\*Type:\*\* pre-release of a patch release \(no feature, fix or breaking change\)\n/);
  assert.match(empty, /No `feat`, `fix`, `perf` or breaking commits since the first commit\.\n$/);
  assert.is(tagMessage('2.5.0', 'VR Performance Optimizations'), 'Release v2.5.0 - VR Performance Optimizations');
  assert.throws(() => tagMessage('2.5.0', ' '), /--title is missing/);
});

const KIND = { level: 'minor', required: 'minor', prerelease: false, holds: 'features' } as const;
const entry = (version: string, text: string) =>
  renderChangelogEntry({
    version,
    date: '2026-01-15',
    kind: KIND,
    previousTag: 'v2.5.0',
    changes: { breaking: [], features: [{ hash: 'abcdef0123', text }], fixes: [], performance: [] },
  });

test('changelog: a new file in Keep a Changelog style, entries newest first, an entry applied twice gives the same file', () => {
  const first = updateChangelog(undefined, '2.6.0', entry('2.6.0', 'shards'));
  assert.match(first, /^# Changelog\n\nAll notable changes to SpaceTime VR, newest first, in the style of\n\[Keep a Changelog\]/);
  assert.ok(first.endsWith('\n\n## [2.6.0] - 2026-01-15\n\n### Added\n\n- shards (abcdef0)\n'), first);
  const second = updateChangelog(first, '3.0.0', entry('3.0.0', 'lobbies'));
  assert.ok(second.indexOf('## [3.0.0]') < second.indexOf('## [2.6.0]'));
  assert.is(updateChangelog(second, '3.0.0', entry('3.0.0', 'lobbies')), second, 'idempotent');
  // An older version goes after the newer ones; a version entry written again replaces its text only.
  const backport = updateChangelog(second, '2.5.1', entry('2.5.1', 'backport'));
  assert.equal(
    [...backport.matchAll(/^## \[(.*)\]/gm)].map((m) => m[1]),
    ['3.0.0', '2.6.0', '2.5.1'],
  );
  const rewritten = updateChangelog(backport, '2.6.0', entry('2.6.0', 'shards, reworded'));
  assert.is(rewritten, backport.replace('- shards (abcdef0)', '- shards, reworded (abcdef0)'));
});

test('changelog: [Unreleased] stays first, hand-written text is kept, fenced headings are not entries', () => {
  const hand = [
    '# Changelog',
    '',
    '## [Unreleased]',
    '',
    '- written by hand',
    '',
    '## [2.5.0] - 2025-12-02',
    '',
    '```markdown',
    '## [not a version]',
    '```',
    '',
  ].join('\n');
  const updated = updateChangelog(hand, '2.6.0', entry('2.6.0', 'shards'));
  assert.is(updated, hand.replace('## [2.5.0]', '## [2.6.0] - 2026-01-15\n\n### Added\n\n- shards (abcdef0)\n\n## [2.5.0]'));
});

test('changelog: a heading that is not a version, or a version listed twice, is an error naming the line', () => {
  assert.throws(
    () => updateChangelog('# Changelog\n\n## [2.5] - 2025-01-01\n', '2.6.0', entry('2.6.0', 'x'), 'docs/CHANGELOG.md'),
    /^docs\/CHANGELOG\.md:3: "## \[2\.5\]" is not a version heading/,
  );
  assert.throws(
    () => updateChangelog('# Changelog\n\n## [2.5.0]\n\n- a\n\n## [2.5.0]\n', '2.6.0', entry('2.6.0', 'x')),
    /^CHANGELOG\.md:7: version 2\.5\.0 has a second entry \(the first is on line 3\)/,
  );
});

const history = (commits: CommitMessage[], over: Partial<VersionHistory> = {}): VersionHistory => ({
  dirty: [],
  lastTag: 'v2.5.0',
  lastReleaseTag: 'v2.5.0',
  tagExists: () => false,
  commits,
  ...over,
});
const plan = (over: Partial<VersionPlanInput> & Pick<VersionPlanInput, 'history'>) =>
  planVersionBump({ currentVersion: '2.5.0', request: {}, title: 'T', date: '2026-01-15', ...over });
const rejects = async (promise: Promise<unknown>, expected: RegExp) => {
  const error = await promise.then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(error, `not refused, expected ${expected}`);
  assert.match(error!.message, expected);
};

test('the plan refuses a dirty tree (a dry run plans despite it), an existing tag and a smaller version', async () => {
  const commits = [c('feat: x')];
  await rejects(
    plan({ history: history(commits, { dirty: [' M VERSION', '?? x'] }) }),
    /not clean; commit or stash these first:\n {4} M VERSION\n {4}\?\? x/,
  );
  const dry = await plan({ allowDirty: true, history: history(commits, { dirty: ['?? x'] }) });
  assert.equal([dry.version, dry.dirty], ['2.6.0', ['?? x']]);
  await rejects(plan({ history: history(commits, { tagExists: (t) => t === 'v2.6.0' }) }), /the tag v2\.6\.0 already exists/);
  await rejects(plan({ request: { version: '2.0.0' }, history: history(commits) }), /not greater/);
  const major = await plan({ request: { bump: 'major' }, history: history(commits) });
  assert.equal(
    [major.version, major.tag, major.tagMessage, major.commitMessage, major.chosenBy],
    ['3.0.0', 'v3.0.0', 'Release v3.0.0 - T', 'Bump version to 3.0.0', '--bump=major'],
  );
});

test('auto (the default) takes the release the commits call for; nothing to release is an error', async () => {
  const breaking = await plan({ history: history([c('fix: a'), c('feat(api)!: sessions v2')]) });
  assert.equal([breaking.version, breaking.chosenBy, breaking.kind.level], ['3.0.0', 'auto: major', 'major']);
  assert.match(breaking.releaseNotes, /\*\*Type:\*\* major release \(breaking changes\)\n/);
  assert.match(
    breaking.changelog,
    /## \[3\.0\.0\] - 2026-01-15\n\n### Breaking Changes\n\n- \*\*api:\*\* sessions v2 \(\w+\)\n\n### Fixed\n\n- a /,
  );
  assert.is((await plan({ request: { bump: 'auto' }, history: history([c('fix: a')]) })).version, '2.5.1');
  assert.is((await plan({ request: { preid: 'rc' }, history: history([c('feat: a')]) })).version, '2.6.0-rc.0');
  await rejects(
    plan({ history: history([c('chore: a'), c('docs: b')]) }),
    /nothing to release: the 2 commits since v2\.5\.0 are all of types that call for no release \(docs, style, chore, [^)]*\)\n {2}hint: give --bump/,
  );
  await rejects(plan({ history: history([]) }), /nothing to release: there are no commits since v2\.5\.0/);
  // Explicitly asked for, a release without such commits is made.
  assert.is((await plan({ request: { bump: 'patch' }, history: history([c('chore: a')]) })).version, '2.5.1');
});

test('a bump lower than the commits call for is refused, naming them, unless --force', async () => {
  const commits = [c('fix: a'), c('feat!: new session API'), c('fix: b', 'BREAKING CHANGE: tokens expire'), c('feat: lobby')];
  await rejects(
    plan({ request: { bump: 'patch' }, history: history(commits) }),
    new RegExp(
      '--bump=patch makes 2\\.5\\.1, a patch release, but the commits since v2\\.5\\.0 call for a major release:\n' +
        ' {4}0+\\w+ feat!: new session API\n {4}\\w+ fix: b \\(BREAKING CHANGE\\)\n' +
        ' {2}hint: leave out --bump and --to \\(auto\\), or give --force',
    ),
  );
  await rejects(
    plan({ request: { bump: 'minor' }, history: history(commits) }),
    /--bump=minor makes 2\.6\.0, a minor release, but .* call for a major/,
  );
  await rejects(plan({ request: { version: '2.5.1' }, history: history(commits) }), /--to=2\.5\.1 makes 2\.5\.1, a patch release/);
  await rejects(
    plan({ request: { bump: 'prepatch', preid: 'rc' }, history: history(commits) }),
    /--bump=prepatch makes 2\.5\.1-rc\.0, a patch release/,
  );
  await rejects(
    plan({ request: { bump: 'patch' }, history: history([c('feat: lobby')]) }),
    /call for a minor release:\n {4}\w+ feat: lobby\n/,
  );
  const forced = await plan({ request: { bump: 'patch' }, force: true, history: history(commits) });
  assert.is(forced.version, '2.5.1');
  assert.match(
    forced.releaseNotes,
    /\*\*Type:\*\* release with breaking changes, numbered with --force \(SemVer calls for a major release\)\n/,
  );
  assert.match(forced.changelog, /## \[2\.5\.1\] - 2026-01-15\n\nA release with breaking changes, numbered with --force/);
  assert.not.match(forced.releaseNotes, /patch release/);
  // Before 1.0.0 a breaking change calls for a minor release.
  const early = await plan({
    currentVersion: '0.4.0',
    request: { bump: 'minor' },
    history: history(commits, { lastTag: 'v0.4.0', lastReleaseTag: 'v0.4.0' }),
  });
  assert.is(early.version, '0.5.0');
  await rejects(
    plan({
      currentVersion: '0.4.0',
      request: { bump: 'patch' },
      history: history(commits, { lastTag: 'v0.4.0', lastReleaseTag: 'v0.4.0' }),
    }),
    /call for a minor release/,
  );
});

test('pre-releases: judged by the commits since the last final release, their notes count from the last pre-release tag', async () => {
  const sinceFinal = [c('feat: lobby'), c('fix!: tokens expire')];
  const sinceRc = sinceFinal.slice(1);
  const rc = { lastTag: 'v2.6.0-rc.0', lastReleaseTag: 'v2.5.0', releaseCommits: sinceFinal };
  // 2.6.0-rc.1 would lead to a minor release holding a breaking change.
  await rejects(
    plan({ currentVersion: '2.6.0-rc.0', request: { bump: 'prerelease', preid: 'rc' }, history: history(sinceRc, rc) }),
    /--bump=prerelease makes 2\.6\.0-rc\.1, a minor release, but the commits since v2\.5\.0 call for a major release/,
  );
  const next = await plan({ currentVersion: '2.6.0-rc.0', request: { preid: 'rc' }, history: history(sinceRc, rc) });
  assert.equal([next.version, next.kind.level], ['3.0.0-rc.0', 'major']);
  assert.match(next.releaseNotes, /\*\*Type:\*\* pre-release of a major release \(breaking changes\)\n/);
  assert.match(next.releaseNotes, /Changes since v2\.6\.0-rc\.0/);
  assert.not.match(next.releaseNotes, /lobby/, 'the notes list only what is new since the last pre-release');
  // A candidate with only fixes since it is made final.
  const final = await plan({
    currentVersion: '2.6.0-rc.1',
    history: history([c('fix: typo')], { lastTag: 'v2.6.0-rc.1', releaseCommits: [c('feat: lobby'), c('fix: typo')] }),
  });
  assert.equal([final.version, final.chosenBy], ['2.6.0', 'auto: minor']);
});

test.run();
