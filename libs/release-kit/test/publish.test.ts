import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { assembleRelease } from '../src/assemble/assemble';
import { entryEpoch } from '../src/format/determinism';
import { Manifest } from '../src/format/manifest';
import { packSection } from '../src/section/packer';
import { resolveSectionSources } from '../src/section/sources';
import { packageHelmChart } from '../src/publish/helm-chart';
import { mergeHelmIndex } from '../src/publish/helm-index';
import { publishRelease, PublishOptions } from '../src/publish/publish';
import { PublishReport } from '../src/publish/publish-report';
import { developmentReasons, publishTarget } from '../src/publish/publish-target';
import { withRetry } from '../src/publish/retry';
import { s3Client, S3Repository } from '../src/publish/s3-repository';
import { buildFixtureRelease, FIXTURE_SECTIONS, fixtureWorkspace, git } from './fixture-release';
import { cleanTempDirs, tempDir, tool, writeTree } from './helpers';
import { getObject, listKeys, putObject, S3Server, sha256, startChecksumStore, startS3Server } from './s3-server';

const CHART_DIR = join(__dirname, '../../sections/kubernetes/src/helm/spacetime-vr');
const SECURITY_SECTION = join(__dirname, '../../sections/security/src');
/** A production package needs the security section's reports (the security checklist) beside the fixture's sections. */
const PRODUCTION_SECTIONS = [...FIXTURE_SECTIONS, 'security'];
const BUCKET = 'artifacts';
let s3: S3Server;
/** A production package (release:assemble:production): the one kind that may go to releases/. */
let releaseRoot = '';
/** A development package (release:assemble): development configuration and key, a dirty tree. */
let developmentRoot = '';
let quietLog: string[] = [];

/**
 * The fixture workspace plus the real security section, committed (dist/ ignored, so the tree is
 * clean), signed with a release key of its own, packed and assembled with the production configuration.
 */
async function buildProductionRelease(root: string): Promise<void> {
  cpSync(SECURITY_SECTION, join(root, 'libs/sections/security/src'), { recursive: true });
  const configFile = join(root, 'libs/release/release.config.json');
  writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), sections: PRODUCTION_SECTIONS }));
  appendFileSync(join(root, '.git/info/exclude'), 'dist/\nnode_modules/\n');
  git(root, 'add', '-A');
  git(root, '-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'production');
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Release', email: 'release@example.invalid' }],
    passphrase: 'release passphrase',
    format: 'armored',
  });
  const keyFile = `${root}-release-key.asc`;
  writeFileSync(keyFile, privateKey, { mode: 0o600 });
  for (const section of PRODUCTION_SECTIONS) {
    const sources = [{ from: 'src', to: '.', render: section !== 'beta' }];
    await packSection({
      workspaceRoot: root,
      section,
      version: '1.2.3',
      sources: resolveSectionSources({ workspaceRoot: root, projectRoot: `libs/sections/${section}`, version: '1.2.3', sources }),
      skipped: [],
      outputDir: join(root, 'dist/sections', section),
      mtime: entryEpoch(),
    });
  }
  await assembleRelease({
    workspaceRoot: root,
    config: 'libs/release/release.config.json',
    sectionsDir: 'dist/sections',
    outputDir: 'dist/release',
    validationDir: 'dist/validation',
    production: true,
    env: { XDG_CONFIG_HOME: `${root}-keys`, RELEASE_SIGNING_KEY: keyFile, RELEASE_SIGNING_PASSPHRASE: 'release passphrase' },
    log: () => undefined,
  });
}

function manifestOf(root: string): Manifest {
  return JSON.parse(readFileSync(join(root, 'dist/release/spacetime-vr-v1.2.3/MANIFEST.json'), 'utf8'));
}

/** Options for the development package. */
function development(overrides: Partial<PublishOptions> = {}): PublishOptions {
  return options({ outputDir: join(developmentRoot, 'dist/release'), sections: FIXTURE_SECTIONS, ...overrides });
}

function options(overrides: Partial<PublishOptions> = {}): PublishOptions {
  return {
    outputDir: join(releaseRoot, 'dist/release'),
    version: '1.2.3',
    sections: PRODUCTION_SECTIONS,
    artifactRepo: `s3://${BUCKET}/first`,
    artifactRepoSource: 'ARTIFACT_REPO',
    force: false,
    partSize: 5 << 20,
    production: false,
    chartDir: CHART_DIR,
    mtime: 315532800,
    env: s3.env,
    log: (line) => quietLog.push(line),
    warn: (line) => quietLog.push(line),
    ...overrides,
  };
}

/** uvu has no assert.rejects: the promise must fail with a message matching `expected`. */
async function rejects(promise: Promise<unknown>, expected: RegExp): Promise<void> {
  const outcome = await promise.then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(outcome, `expected a failure matching ${expected}`);
  assert.match(outcome!.message, expected);
}

const actions = (report: PublishReport) => Object.fromEntries(report.objects.map((o) => [o.key, o.action]));

test.before(async () => {
  s3 = await startS3Server(tempDir('s3rver'), [BUCKET]);
  releaseRoot = fixtureWorkspace();
  await buildProductionRelease(releaseRoot);
  developmentRoot = fixtureWorkspace();
  await buildFixtureRelease(developmentRoot);
});

test.after(async () => {
  await s3.close();
  cleanTempDirs();
});

test('the Helm chart tgz is deterministic, Helm-shaped and pinned to the pushed digest', () => {
  const image = { registry: 'registry.example:5000', digest: `sha256:${'a'.repeat(64)}` };
  const one = packageHelmChart({ chartDir: CHART_DIR, version: '2.5.0', image, mtime: 315532800 });
  const two = packageHelmChart({ chartDir: CHART_DIR, version: '2.5.0', image, mtime: 315532800 });
  assert.ok(one.bytes.equals(two.bytes), 'two builds differ');
  assert.is(one.fileName, 'spacetime-vr-2.5.0.tgz');
  const dir = tempDir('chart');
  writeFileSync(join(dir, one.fileName), one.bytes);
  const listing = tool('tar', ['-tzf', one.fileName], dir).split('\n');
  assert.ok(listing.includes('spacetime-vr/Chart.yaml'), listing.join('\n'));
  assert.ok(listing.every((p) => p === '' || p.startsWith('spacetime-vr/')));
  tool('tar', ['-xzf', one.fileName], dir);
  const chart = parse(readFileSync(join(dir, 'spacetime-vr/Chart.yaml'), 'utf8'));
  assert.is(chart.version, '2.5.0');
  assert.is(chart.appVersion, '2.5.0');
  const values = parse(readFileSync(join(dir, 'spacetime-vr/values.yaml'), 'utf8'));
  assert.equal([values.image.registry, values.image.digest], [image.registry, image.digest]);
  assert.match(readFileSync(join(dir, 'spacetime-vr/values.yaml'), 'utf8'), /# Default values for the spacetime-vr chart/);
});

test('the Helm index merge keeps other versions, is deterministic, and refuses a changed chart unless forced', () => {
  const existing =
    'apiVersion: v1\nentries:\n' +
    '  spacetime-vr:\n    - name: spacetime-vr\n      version: 2.4.0\n      digest: old\n      urls: [spacetime-vr-2.4.0.tgz]\n' +
    '  other-chart:\n    - name: other-chart\n      version: 0.1.0\n      digest: x\n' +
    'generated: "2020-01-01T00:00:00Z"\n';
  const entry = {
    metadata: { name: 'spacetime-vr', version: '2.5.0', appVersion: '2.5.0', apiVersion: 'v2' },
    digest: 'b'.repeat(64),
    url: 'spacetime-vr-2.5.0.tgz',
    created: '2026-01-02T03:04:05Z',
  };
  const merged = mergeHelmIndex(existing, entry, '2026-01-02T03:04:05Z', false, 'index.yaml');
  assert.is(merged.text, mergeHelmIndex(existing, entry, '2026-01-02T03:04:05Z', false, 'index.yaml').text);
  const index = parse(merged.text);
  assert.equal(
    index.entries['spacetime-vr'].map((e: { version: string }) => e.version),
    ['2.5.0', '2.4.0'],
  );
  assert.is(index.entries['other-chart'][0].version, '0.1.0');
  assert.is(index.generated, '2026-01-02T03:04:05Z');
  assert.equal(index.entries['spacetime-vr'][0].urls, ['spacetime-vr-2.5.0.tgz']);
  assert.is(index.entries['spacetime-vr'][0].digest, 'b'.repeat(64));
  assert.is(
    mergeHelmIndex(merged.text, entry, '2026-01-02T03:04:05Z', false, 'index.yaml').text,
    merged.text,
    'republishing the same chart changes nothing',
  );
  const changed = { ...entry, digest: 'c'.repeat(64) };
  assert.throws(
    () => mergeHelmIndex(merged.text, changed, '2026-01-02T03:04:05Z', false, 'index.yaml'),
    /index\.yaml: already lists spacetime-vr 2\.5\.0 with digest b+, not c+/,
  );
  assert.is(mergeHelmIndex(merged.text, changed, '2026-01-02T03:04:05Z', true, 'index.yaml').replaced, true);
});

test('transient failures are retried with backoff; others are not', async () => {
  let calls = 0;
  const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  const value = await withRetry(
    'op',
    async () => (++calls < 3 ? Promise.reject(reset) : 'ok'),
    () => undefined,
    { attempts: 4, firstDelayMs: 1 },
  );
  assert.equal([value, calls], ['ok', 3]);
  calls = 0;
  const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  await withRetry(
    'op',
    async () => (calls++, Promise.reject(denied)),
    () => undefined,
    { attempts: 4, firstDelayMs: 1 },
  ).catch(() => undefined);
  assert.is(calls, 1);
});

test('a large file goes up in parts, each with its SHA-256, and carries the full-file sha256 as metadata', async () => {
  const file = join(tempDir('large'), 'large.bin');
  const bytes = randomBytes(12 << 20);
  writeFileSync(file, bytes);
  const logs: string[] = [];
  const repository = new S3Repository(s3Client(s3.env), BUCKET, 'multipart', (l) => logs.push(l));
  const result = await repository.put({
    key: 'large.bin',
    file,
    size: bytes.length,
    sha256: sha256(bytes),
    partSize: 5 << 20,
    log: (l) => logs.push(l),
  });
  assert.is(result.parts, 3);
  assert.ok(
    logs.some((l) => /large\.bin: part 3\/3, 12\.0\/12\.0 MiB/.test(l)),
    logs.join('\n'),
  );
  assert.equal(await repository.head('large.bin'), { size: bytes.length });
  assert.is((await getObject(s3.client, BUCKET, 'multipart/large.bin')).metadata.sha256, sha256(bytes));
  assert.is(await repository.hashContent('large.bin'), sha256(bytes));
  // s3rver keeps no SHA-256 checksum of its own, so "the same bytes" is proven by a download; never by the metadata.
  assert.equal(await repository.compare('large.bin', { file, size: bytes.length, sha256: sha256(bytes) }), { same: true, by: 'content' });
  const other = sha256(Buffer.from('other'));
  assert.equal(await repository.compare('large.bin', { file, size: bytes.length, sha256: other }), { same: false, by: 'content' });
  assert.equal(await repository.compare('large.bin', { file, size: 1, sha256: sha256(bytes) }), { same: false, by: 'size' });
  assert.is(await repository.compare('absent.bin', { file, size: 1, sha256: other }), undefined);
});

test('a first publish uploads everything in order; a rerun skips everything', async () => {
  quietLog = [];
  const first = await publishRelease(options());
  const order = quietLog.filter((l) => l.startsWith('uploading ')).map((l) => l.split(' ')[1]);
  assert.equal(order, [
    'charts/spacetime-vr-1.2.3.tgz',
    'releases/v1.2.3/release-signing-key.asc',
    'releases/v1.2.3/spacetime-vr-v1.2.3.tar.gz',
    'releases/v1.2.3/spacetime-vr-v1.2.3.zip',
    'releases/v1.2.3/spacetime-vr-v1.2.3.intoto.jsonl',
    'releases/v1.2.3/SHA256SUMS',
    'releases/v1.2.3/SHA256SUMS.asc',
    'releases/v1.2.3/MANIFEST.json',
    'charts/index.yaml',
  ]);
  assert.ok(first.objects.every((o) => o.action === 'uploaded' && o.verified === 'content'));
  assert.equal(first.image, { skipped: 'MANIFEST.json records no image' });
  assert.equal(await listKeys(s3.client, BUCKET, 'first/'), order.map((k) => `first/${k}`).sort());
  const stored = await getObject(s3.client, BUCKET, 'first/releases/v1.2.3/SHA256SUMS');
  assert.ok(stored.body.equals(readFileSync(join(releaseRoot, 'dist/release/spacetime-vr-v1.2.3/SHA256SUMS'))));
  assert.is(stored.metadata.sha256, sha256(stored.body));
  const report = readFileSync(join(releaseRoot, 'dist/release/publish-report.json'), 'utf8');
  assert.equal(JSON.parse(report), first);
  assert.not.match(report, /S3RVER|SECRET|password/i);

  assert.equal([first.mode, first.prefix, first.development, first.chart.index], ['release', 'releases/v1.2.3', [], 'charts/index.yaml']);

  const again = await publishRelease(options());
  assert.ok(
    again.objects.every((o) => o.action === 'skipped' && o.verified === 'content'),
    JSON.stringify(again.objects),
  );
});

test('an object that exists with other content stops the publish before anything changes; --force overwrites and records it', async () => {
  const repo = `s3://${BUCKET}/conflict`;
  await publishRelease(options({ artifactRepo: repo }));
  const zipKey = 'conflict/releases/v1.2.3/spacetime-vr-v1.2.3.zip';
  await putObject(s3.client, BUCKET, zipKey, 'not the release');
  await putObject(s3.client, BUCKET, 'conflict/releases/v1.2.3/SHA256SUMS', 'stale sums');
  const before = await Promise.all(
    (await listKeys(s3.client, BUCKET, 'conflict/')).map(async (k) => [k, sha256((await getObject(s3.client, BUCKET, k)).body)]),
  );
  await rejects(
    publishRelease(options({ artifactRepo: repo })),
    /s3:\/\/artifacts\/conflict\/releases\/v1\.2\.3\/spacetime-vr-v1\.2\.3\.zip already exists with different content: a released version never changes \(also releases\/v1\.2\.3\/SHA256SUMS\)/,
  );
  const after = await Promise.all(
    (await listKeys(s3.client, BUCKET, 'conflict/')).map(async (k) => [k, sha256((await getObject(s3.client, BUCKET, k)).body)]),
  );
  assert.equal(after, before, 'the failed publish changed the repository');

  const forced = await publishRelease(options({ artifactRepo: repo, force: true }));
  assert.equal(forced.forced, ['releases/v1.2.3/spacetime-vr-v1.2.3.zip', 'releases/v1.2.3/SHA256SUMS']);
  assert.is(actions(forced)['releases/v1.2.3/spacetime-vr-v1.2.3.zip'], 'overwritten');
  assert.is(actions(forced)['releases/v1.2.3/MANIFEST.json'], 'skipped');
  assert.ok(
    (await getObject(s3.client, BUCKET, zipKey)).body.equals(readFileSync(join(releaseRoot, 'dist/release/spacetime-vr-v1.2.3.zip'))),
  );
});

test('the file:// repository has the same layout and the same immutability', async () => {
  const root = join(tempDir('file-repo'), 'repo');
  const first = await publishRelease(options({ artifactRepo: `file://${root}` }));
  assert.ok(first.objects.every((o) => o.action === 'uploaded'));
  assert.is(first.repository, `file://${root}`);
  assert.ok(existsSync(join(root, 'releases/v1.2.3/SHA256SUMS.asc')));
  assert.ok(existsSync(join(root, 'charts/index.yaml')));
  assert.ok(
    readFileSync(join(root, 'releases/v1.2.3/spacetime-vr-v1.2.3.tar.gz')).equals(
      readFileSync(join(releaseRoot, 'dist/release/spacetime-vr-v1.2.3.tar.gz')),
    ),
  );
  const again = await publishRelease(options({ artifactRepo: `file://${root}` }));
  assert.ok(again.objects.every((o) => o.action === 'skipped' && o.verified === 'content'));
  writeFileSync(join(root, 'releases/v1.2.3/MANIFEST.json'), '{}\n');
  await rejects(
    publishRelease(options({ artifactRepo: `file://${root}` })),
    /releases\/v1\.2\.3\/MANIFEST\.json already exists with different content/,
  );
});

const badInput = 'bad input: missing bucket, wrong credentials, a bad repository URL, a missing package, a package that fails verification';
test(badInput, async () => {
  const cases: Array<[Partial<PublishOptions>, RegExp]> = [
    [{ artifactRepo: 's3://no-such-bucket/x' }, /^ARTIFACT_REPO: bucket no-such-bucket: the bucket no-such-bucket does not exist/],
    // s3rver checks the access key ID but not V4 signatures, so a wrong secret key goes unnoticed there.
    [{ env: { ...s3.env, AWS_ACCESS_KEY_ID: 'WRONG' } }, /^ARTIFACT_REPO: bucket artifacts: access denied.*the credentials are wrong/],
    [{ artifactRepo: 'ftp://example/x' }, /^ARTIFACT_REPO: "ftp:\/\/example\/x" is not an artifact repository/],
    [
      { outputDir: join(tempDir('empty'), 'dist/release') },
      /spacetime-vr-v1\.2\.3: is missing: there is no release package to publish\n {2}hint: run release:assemble first/,
    ],
  ];
  for (const [overrides, expected] of cases) {
    await rejects(publishRelease(options({ artifactRepo: `s3://${BUCKET}/bad`, ...overrides })), expected);
  }
  const tampered = fixtureWorkspace();
  await buildFixtureRelease(tampered);
  writeTree(join(tampered, 'dist/release/spacetime-vr-v1.2.3'), { 'alpha/readme.md': 'changed\n' });
  await rejects(
    publishRelease(options({ artifactRepo: `s3://${BUCKET}/bad`, outputDir: join(tampered, 'dist/release'), sections: FIXTURE_SECTIONS })),
    /the package fails verification, so it is not published: SHA256SUMS: \.\/alpha\/readme\.md does not match/,
  );
  assert.equal(await listKeys(s3.client, BUCKET, 'bad/'), [], 'a failed preflight wrote to the bucket');
});

test('a publish killed (SIGKILL) in the middle of an upload completes on rerun without sending again what is complete', async () => {
  const root = fixtureWorkspace();
  writeTree(root, { 'libs/sections/beta/src/large.bin': randomBytes(40 << 20) });
  await buildProductionRelease(root);
  const outputDir = join(root, 'dist/release');
  const child = spawn(
    process.execPath,
    [
      '-r',
      '@swc-node/register',
      join(__dirname, 'publish-child.ts'),
      JSON.stringify({ ...options({ outputDir, artifactRepo: `s3://${BUCKET}/killed` }), log: undefined, warn: undefined }),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const killed = await new Promise<string>((resolve) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (/spacetime-vr-v1\.2\.3\.zip: part 2\//.test(output)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (_code, signal) => resolve(String(signal)));
  });
  assert.is(killed, 'SIGKILL', output);
  const keys = await listKeys(s3.client, BUCKET, 'killed/');
  assert.ok(keys.includes('killed/releases/v1.2.3/spacetime-vr-v1.2.3.tar.gz'), keys.join('\n'));
  assert.not.ok(keys.includes('killed/releases/v1.2.3/spacetime-vr-v1.2.3.zip'), 'a half-uploaded object is visible');
  assert.not.ok(keys.includes('killed/releases/v1.2.3/SHA256SUMS'), 'the checksums went up before the archives');

  const rerun = await publishRelease(options({ outputDir, artifactRepo: `s3://${BUCKET}/killed` }));
  const a = actions(rerun);
  assert.is(a['releases/v1.2.3/spacetime-vr-v1.2.3.tar.gz'], 'skipped');
  assert.is(a['releases/v1.2.3/release-signing-key.asc'], 'skipped');
  assert.is(a['releases/v1.2.3/spacetime-vr-v1.2.3.zip'], 'uploaded');
  assert.is(a['releases/v1.2.3/MANIFEST.json'], 'uploaded');
  const zip = await getObject(s3.client, BUCKET, 'killed/releases/v1.2.3/spacetime-vr-v1.2.3.zip');
  assert.ok(zip.body.equals(readFileSync(join(outputDir, 'spacetime-vr-v1.2.3.zip'))));
  rmSync(root, { recursive: true, force: true });
});

test('a development package is refused for releases/, on S3 and on file://, before anything remote is touched', async () => {
  const root = join(tempDir('file-repo-dev'), 'repo');
  for (const [artifactRepo, production] of [
    [`s3://${BUCKET}/development`, false],
    [`s3://${BUCKET}/development`, true],
    [`file://${root}`, false],
  ] as const) {
    await rejects(
      publishRelease(development({ artifactRepo, production })),
      new RegExp(
        'spacetime-vr-v1\\.2\\.3/MANIFEST\\.json: is a development package, which is never published under releases/: ' +
          'it was built with the development configuration; it is signed with the development key; ' +
          'it was built from a git tree with uncommitted changes\\n {2}' +
          'hint: build with release:assemble:production, or publish it with --snapshot',
      ),
    );
  }
  assert.equal(await listKeys(s3.client, BUCKET, 'development/'), []);
  assert.not.ok(existsSync(root), 'the file:// repository was written');
});

test('what makes a development package, each on its own; a snapshot needs a git commit', () => {
  const production = manifestOf(releaseRoot);
  const file = 'dist/release/spacetime-vr-v1.2.3/MANIFEST.json';
  assert.equal(developmentReasons(production), []);
  assert.equal(publishTarget(production, '1.2.3', false, file), {
    mode: 'release',
    dir: 'releases/v1.2.3',
    chartDir: 'charts',
    indexKey: 'charts/index.yaml',
    development: [],
  });
  const cases: Array<[Partial<Manifest>, string]> = [
    [{ configuration: 'development' }, 'it was built with the development configuration'],
    [{ signing: { ...production.signing, development: true } }, 'it is signed with the development key'],
    [
      { skipped: [{ artifact: 'binaries/spacetime-vr-1.2.3.tar.gz', reason: 'no Docker engine' }] },
      'it skipped binaries/spacetime-vr-1.2.3.tar.gz',
    ],
    [{ git_dirty: true }, 'it was built from a git tree with uncommitted changes'],
  ];
  for (const [change, reason] of cases) {
    const manifest = { ...production, ...change };
    assert.equal(developmentReasons(manifest), [reason]);
    assert.throws(
      () => publishTarget(manifest, '1.2.3', false, file),
      (e: Error) => e.message.includes(`releases/: ${reason}\n  hint:`),
    );
    const snapshot = publishTarget(manifest, '1.2.3', true, file);
    assert.equal(
      [snapshot.mode, snapshot.dir, snapshot.chartDir, snapshot.indexKey],
      ['snapshot', `snapshots/1.2.3-${production.git_commit.slice(0, 7)}`, snapshot.dir, undefined],
    );
  }
  assert.is(publishTarget(production, '1.2.3', true, file).mode, 'snapshot', 'a production package may be published as a snapshot');
  assert.throws(
    () => publishTarget({ ...production, git_commit: 'unknown' }, '1.2.3', true, file),
    /MANIFEST\.json: records no git commit \("unknown"\): a snapshot is named after its commit, and this is not a git checkout/,
  );
});

const snapshotTest = '--snapshot publishes a development package under snapshots/<version>-<short commit>/, chart included, nothing else';
test(snapshotTest, async () => {
  const short = manifestOf(developmentRoot).git_commit.slice(0, 7);
  assert.match(short, /^[0-9a-f]{7}$/);
  const dir = `snapshots/1.2.3-${short}`;
  const expected = [
    `${dir}/MANIFEST.json`,
    `${dir}/SHA256SUMS`,
    `${dir}/SHA256SUMS.asc`,
    `${dir}/release-signing-key.asc`,
    `${dir}/spacetime-vr-1.2.3.tgz`,
    `${dir}/spacetime-vr-v1.2.3.intoto.jsonl`,
    `${dir}/spacetime-vr-v1.2.3.tar.gz`,
    `${dir}/spacetime-vr-v1.2.3.zip`,
  ];
  quietLog = [];
  const report = await publishRelease(development({ artifactRepo: `s3://${BUCKET}/snap`, snapshot: true }));
  assert.equal(
    await listKeys(s3.client, BUCKET, 'snap/'),
    expected.map((k) => `snap/${k}`),
  );
  assert.equal(
    [report.mode, report.prefix, report.chart.key, report.chart.index],
    ['snapshot', dir, `${dir}/spacetime-vr-1.2.3.tgz`, null],
  );
  assert.equal(report.configuration, 'development');
  assert.ok(report.development.includes('it is signed with the development key'), JSON.stringify(report.development));
  assert.ok(
    quietLog.some((l) => l.startsWith(`SNAPSHOT: publishing under ${dir}/, not as a release (a development package: `)),
    quietLog.join('\n'),
  );
  assert.ok(
    (await getObject(s3.client, BUCKET, `snap/${dir}/spacetime-vr-v1.2.3.tar.gz`)).body.equals(
      readFileSync(join(developmentRoot, 'dist/release/spacetime-vr-v1.2.3.tar.gz')),
    ),
  );
  const again = await publishRelease(development({ artifactRepo: `s3://${BUCKET}/snap`, snapshot: true }));
  assert.ok(
    again.objects.every((o) => o.action === 'skipped'),
    JSON.stringify(again.objects),
  );

  const root = join(tempDir('file-repo-snapshot'), 'repo');
  await publishRelease(development({ artifactRepo: `file://${root}`, snapshot: true }));
  assert.equal(readdirSync(root), ['snapshots']);
  assert.equal(readdirSync(join(root, dir)).sort(), expected.map((k) => k.slice(dir.length + 1)).sort());
});

test('an S3 object rewritten with its sha256 metadata kept is found out; --force repairs it', async () => {
  const repo = `s3://${BUCKET}/rewritten`;
  await publishRelease(options({ artifactRepo: repo }));
  const key = 'rewritten/releases/v1.2.3/SHA256SUMS';
  const stored = await getObject(s3.client, BUCKET, key);
  const forged = Buffer.from(stored.body);
  forged[0] = forged[0] === 0x30 ? 0x31 : 0x30; // same size, one hex digit changed
  await putObject(s3.client, BUCKET, key, forged, stored.metadata);
  assert.equal((await getObject(s3.client, BUCKET, key)).metadata.sha256, stored.metadata.sha256, 'the metadata was kept');
  await rejects(
    publishRelease(options({ artifactRepo: repo })),
    /s3:\/\/artifacts\/rewritten\/releases\/v1\.2\.3\/SHA256SUMS already exists with different content/,
  );
  assert.ok((await getObject(s3.client, BUCKET, key)).body.equals(forged), 'the refused publish changed the object');
  const forced = await publishRelease(options({ artifactRepo: repo, force: true }));
  assert.equal(forced.forced, ['releases/v1.2.3/SHA256SUMS']);
  assert.ok((await getObject(s3.client, BUCKET, key)).body.equals(stored.body));
});

const checksumTest =
  'a store that keeps SHA-256 checksums, as S3 does: "already there" without a download, a rewrite found by its checksum';
test(checksumTest, async () => {
  const store = await startChecksumStore(s3);
  try {
    const dir = tempDir('checksums');
    const bytes = randomBytes(12 << 20);
    const changed = Buffer.from(bytes);
    changed[changed.length - 1] ^= 1; // the same size, the last part differs
    writeFileSync(join(dir, 'large.bin'), bytes);
    writeFileSync(join(dir, 'changed.bin'), changed);
    const repository = new S3Repository(s3Client(store.env), BUCKET, 'checksummed-parts', () => undefined);
    const put = { key: 'large.bin', file: join(dir, 'large.bin'), size: bytes.length, sha256: sha256(bytes), partSize: 5 << 20 };
    assert.is((await repository.put({ ...put, log: () => undefined })).parts, 3);
    assert.equal(await repository.compare('large.bin', put), { same: true, by: 'checksum' });
    assert.equal(await repository.compare('large.bin', { file: join(dir, 'changed.bin'), size: changed.length, sha256: sha256(changed) }), {
      same: false,
      by: 'checksum',
    });
    assert.is(store.downloads.size, 0, 'the comparison downloaded the object');

    // A release whose archives go up as (one-part) multipart uploads, the small files whole.
    const publish = (force = false) =>
      publishRelease(options({ artifactRepo: `s3://${BUCKET}/checksummed`, env: store.env, partSize: 1 << 20, force }));
    await publish();
    store.downloads.clear();
    const again = await publish();
    for (const object of again.objects) {
      const expected = object.key === 'charts/index.yaml' ? 'content' : 'checksum';
      assert.equal([object.key, object.action, object.verified], [object.key, 'skipped', expected]);
    }
    assert.equal([...store.downloads.keys()], [`/${BUCKET}/checksummed/charts/index.yaml`], 'a skipped object was downloaded');

    // Rewritten with its metadata kept and a correct checksum of the new bytes: the checksum differs.
    const sumsKey = 'checksummed/releases/v1.2.3/SHA256SUMS';
    const sums = await getObject(store.client, BUCKET, sumsKey);
    const forged = Buffer.from(sums.body);
    forged[0] = forged[0] === 0x30 ? 0x31 : 0x30;
    const checksum = createHash('sha256').update(forged).digest('base64');
    await store.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: sumsKey, Body: forged, Metadata: sums.metadata, ChecksumSHA256: checksum }),
    );
    await rejects(publish(), /checksummed\/releases\/v1\.2\.3\/SHA256SUMS already exists with different content/);
    // Rewritten without a checksum (the store keeps none for it): the download decides.
    const tarKey = 'checksummed/releases/v1.2.3/spacetime-vr-v1.2.3.tar.gz';
    const tar = await getObject(store.client, BUCKET, tarKey);
    const forgedTar = Buffer.from(tar.body);
    forgedTar[forgedTar.length >> 1] ^= 0xff;
    await putObject(store.client, BUCKET, tarKey, forgedTar, tar.metadata);
    await rejects(
      publish(),
      /spacetime-vr-v1\.2\.3\.tar\.gz already exists with different content: .*\(also releases\/v1\.2\.3\/SHA256SUMS\)/,
    );
    const forced = await publish(true);
    assert.equal(forced.forced, ['releases/v1.2.3/spacetime-vr-v1.2.3.tar.gz', 'releases/v1.2.3/SHA256SUMS']);
  } finally {
    await store.close();
  }
});

test('a file:// object rewritten with the same size is found out', async () => {
  const root = join(tempDir('file-repo-rewritten'), 'repo');
  await publishRelease(options({ artifactRepo: `file://${root}` }));
  const file = join(root, 'releases/v1.2.3/spacetime-vr-v1.2.3.zip');
  const forged = readFileSync(file);
  forged[forged.length >> 1] ^= 0xff;
  writeFileSync(file, forged);
  await rejects(
    publishRelease(options({ artifactRepo: `file://${root}` })),
    /releases\/v1\.2\.3\/spacetime-vr-v1\.2\.3\.zip already exists with different content/,
  );
  const forced = await publishRelease(options({ artifactRepo: `file://${root}`, force: true }));
  assert.equal(forced.forced, ['releases/v1.2.3/spacetime-vr-v1.2.3.zip']);
});

test('publish waits for the assemble lock another process holds, and uploads nothing until it is released', async () => {
  const outputDir = join(releaseRoot, 'dist/release');
  const holder = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'publish-lock-holder.ts'), outputDir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => holder.on('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the lock holder never locked')), 30_000);
      holder.stdout.on('data', (chunk) => String(chunk).includes('locked') && (clearTimeout(timer), resolve()));
    });
    quietLog = [];
    let settled = false;
    const publishing = publishRelease(options({ artifactRepo: `s3://${BUCKET}/locked` })).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.not.ok(settled, 'publish did not wait for the lock');
    assert.ok(
      quietLog.some((l) => l.startsWith(`waiting for pid ${holder.pid}, which holds`)),
      quietLog.join('\n'),
    );
    assert.not.ok(
      quietLog.some((l) => l.startsWith('preflight')),
      'publish read the package while the lock was held',
    );
    assert.equal(await listKeys(s3.client, BUCKET, 'locked/'), []);
    holder.stdin.end('release\n');
    assert.is(await exited, 0);
    const report = await publishing;
    assert.ok(report.objects.every((o) => o.action === 'uploaded'));
    assert.not.ok(existsSync(join(outputDir, '.assemble.lock')), 'publish left the lock behind');
  } finally {
    holder.kill('SIGKILL');
  }
});

test.run();
