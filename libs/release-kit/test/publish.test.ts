import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { packageHelmChart } from '../src/publish/helm-chart';
import { mergeHelmIndex } from '../src/publish/helm-index';
import { publishRelease, PublishOptions } from '../src/publish/publish';
import { PublishReport } from '../src/publish/publish-report';
import { withRetry } from '../src/publish/retry';
import { s3Client, S3Repository } from '../src/publish/s3-repository';
import { buildFixtureRelease, FIXTURE_SECTIONS, fixtureWorkspace } from './fixture-release';
import { cleanTempDirs, tempDir, tool, writeTree } from './helpers';
import { getObject, listKeys, putObject, S3Server, sha256, startS3Server } from './s3-server';

const CHART_DIR = join(__dirname, '../../sections/kubernetes/src/helm/spacetime-vr');
const BUCKET = 'artifacts';
let s3: S3Server;
let releaseRoot = '';
let quietLog: string[] = [];

function options(overrides: Partial<PublishOptions> = {}): PublishOptions {
  return {
    outputDir: join(releaseRoot, 'dist/release'),
    version: '1.2.3',
    sections: FIXTURE_SECTIONS,
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
  await buildFixtureRelease(releaseRoot);
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
  assert.equal(await repository.head('large.bin'), { size: bytes.length, sha256: sha256(bytes) });
  assert.is(await repository.hashContent('large.bin'), sha256(bytes));
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

  const again = await publishRelease(options());
  assert.ok(
    again.objects.every((o) => o.action === 'skipped' && o.verified === 'metadata'),
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
    publishRelease(options({ artifactRepo: `s3://${BUCKET}/bad`, outputDir: join(tampered, 'dist/release') })),
    /the package fails verification, so it is not published: SHA256SUMS: \.\/alpha\/readme\.md does not match/,
  );
  assert.equal(await listKeys(s3.client, BUCKET, 'bad/'), [], 'a failed preflight wrote to the bucket');
});

test('a publish killed (SIGKILL) in the middle of an upload completes on rerun without sending again what is complete', async () => {
  const root = fixtureWorkspace();
  writeTree(root, { 'libs/sections/beta/src/large.bin': randomBytes(40 << 20) });
  await buildFixtureRelease(root);
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

test.run();
