import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReleaseError } from '../src/support/errors';
import { Manifest } from '../src/format/manifest';
import { escapeHtml, renderReportHtml } from '../src/report/html';
import { durationMs, promqlText } from '../src/report/differs/alert-rules';
import { codeSpan, diffMarkdown, escapeMarkdown } from '../src/report/markdown';
import { diffText } from '../src/report/text';
import { formatPathChange, objectDiff } from '../src/report/object-diff';
import { readPackage } from '../src/report/package-reader';
import { openPackageSource } from '../src/report/package-source';
import { diffPackages, diffReleases, readForDiff } from '../src/report/release-diff';
import { readTaskRuns, recordTaskGraph } from '../src/report/task-graph';
import { buildReleaseOf } from './fixture-release';
import { cleanTempDirs, tempDir, tool, writeTree } from './helpers';
import { putObject, startS3Server } from './s3-server';

test.after.each(cleanTempDirs);

const SECRET = 'Zm9vYmFyLXNlY3JldA==';

const KUSTOMIZE = {
  'kubernetes/base/kustomization.yaml': 'resources:\n  - secret.yaml\n  - deployment.yaml\n',
  'kubernetes/base/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  API_KEY: ${SECRET}\n`,
  'kubernetes/base/deployment.yaml':
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n' +
    '        - name: app\n          image: app:1\n        - name: sidecar\n          image: side:1\n',
  'kubernetes/overlays/staging/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: app-staging\n',
};

test('a package reads the same from its folder, its .tar.gz and its .zip, and only the wanted contents are loaded', async () => {
  const built = await buildReleaseOf('1.0.0', {
    'config/staging/.env.template': 'A=1\n',
    'docs/big.md': 'x'.repeat(5000),
    'docs/notes.md': 'notes\n',
  });
  const wanted = (p: string) => p.startsWith('config/');
  const read = await Promise.all([built.packageDir, built.tarGz, built.zip].map((p) => readPackage(p, wanted)));
  for (const pkg of read) {
    assert.is(pkg.manifest.version, '1.0.0', pkg.source);
    assert.ok(
      ['config/staging/.env.template', 'docs/big.md', 'docs/notes.md'].every((p) => pkg.files.has(p)),
      pkg.source,
    );
    assert.equal([...pkg.contents.keys()], ['config/staging/.env.template'], pkg.source);
    assert.is(pkg.contents.get('config/staging/.env.template')!.toString(), 'A=1\n');
    assert.is(pkg.signedBy.fingerprint, built.manifest.signing.fingerprint);
  }
});

test('an old package that does not verify is not read: a tampered archive is refused with its failures', async () => {
  const built = await buildReleaseOf('1.0.0', { 'config/staging/.env.template': 'A=1\n' });
  const archive = readFileSync(built.zip);
  const at = archive.indexOf('A=1');
  assert.ok(at > 0, 'the template is stored, so its bytes can be changed in place');
  archive[at + 2] = '2'.charCodeAt(0);
  writeFileSync(built.zip, archive);
  const error = await readPackage(built.zip, () => true).catch((e) => e);
  assert.instance(error, ReleaseError);
  assert.match(error.message, /does not verify, so it is not read/);
  assert.match(error.message, /config\/staging\/.env.template/);
});

test('a folder or archive that is not a package is an error naming it', async () => {
  const parent = tempDir('report-reader');
  writeTree(parent, { 'not-a-package/readme.md': 'hi\n' });
  tool('tar', ['-czf', 'other.tar.gz', 'not-a-package'], parent);
  for (const path of ['not-a-package', 'other.tar.gz', 'missing.zip', 'file.txt']) {
    const error = await readPackage(join(parent, path), () => true).catch((e) => e);
    assert.instance(error, ReleaseError, path);
    assert.match(error.message, join(parent, path));
  }
});

test('--from: a path, or a version in the repository publish uses (option, ARTIFACT_REPO, default); errors name the setting', async () => {
  const workspaceRoot = tempDir('workspace');
  const repo = tempDir('artifact-repo');
  const archive = 'releases/v2.4.0/spacetime-vr-v2.4.0.tar.gz';
  writeTree(repo, { [archive]: 'archive' });
  writeTree(workspaceRoot, { [`dist/artifact-repo/${archive}`]: 'archive', 'old/package.tar.gz': 'x' });
  const open = (from: string, env: NodeJS.ProcessEnv = {}, artifactRepo?: string) =>
    openPackageSource(from, { workspaceRoot, env, artifactRepo });
  const env = { ARTIFACT_REPO: pathToFileURL(repo).href };
  assert.is((await open('2.4.0', env)).path, join(repo, archive));
  assert.is((await open('v2.4.0', env)).shownAs, `${pathToFileURL(repo).href}/${archive}`);
  assert.is((await open('2.4.0')).path, join(workspaceRoot, 'dist/artifact-repo', archive), 'the default repository');
  assert.is((await open('2.4.0', { ARTIFACT_REPO: 'file:///nonexistent' }, pathToFileURL(repo).href)).path, join(repo, archive));
  assert.equal(await open('old/package.tar.gz').then((s) => [s.path, s.shownAs]), [
    join(workspaceRoot, 'old/package.tar.gz'),
    'old/package.tar.gz',
  ]);
  const fails = async (from: string, e: NodeJS.ProcessEnv, message: string, artifactRepo?: string) => {
    const error = await open(from, e, artifactRepo).catch((x) => x);
    assert.instance(error, ReleaseError, from);
    assert.match(error.message, message);
  };
  await fails('2.3.0', env, `version 2.3.0 is not in ARTIFACT_REPO (${pathToFileURL(repo).href})`);
  await fails('2.3.0', {}, 'version 2.3.0 is not in the default repository (file://');
  await fails('2.3.0', {}, 'is not in --artifactRepo', pathToFileURL(repo).href);
  await fails('2.3.0', { ARTIFACT_REPO: 'ftp://host/x' }, 'ARTIFACT_REPO: "ftp://host/x" is not an artifact repository');
  await fails('old-build', env, 'neither an existing package folder or archive nor a version');
});

test('--from=<version> from an s3:// repository (s3rver): downloaded with its key and attestation, verified, compared, removed', async () => {
  const keys = { XDG_CONFIG_HOME: tempDir('report-keys') };
  const old = await buildReleaseOf('2.4.0', { 'config/staging/.env.template': 'A=1\n' }, keys);
  const current = await buildReleaseOf('2.5.0', { 'config/staging/.env.template': 'A=1\nB=2\n' }, keys);
  const s3 = await startS3Server(tempDir('s3rver'), ['artifacts']);
  try {
    const folder = 'team/releases/v2.4.0';
    for (const file of [old.tarGz, old.publicKey, old.attestation])
      await putObject(s3.client, 'artifacts', `${folder}/${basename(file)}`, readFileSync(file));
    const workspaceRoot = tempDir('workspace');
    const env = { ...s3.env, ARTIFACT_REPO: 's3://artifacts/team' };
    const source = await openPackageSource('2.4.0', { workspaceRoot, env });
    assert.is(source.shownAs, 's3://artifacts/team/releases/v2.4.0/spacetime-vr-v2.4.0.tar.gz');
    assert.equal(readdirSync(dirname(source.path)).sort(), [
      'release-signing-key.asc',
      'spacetime-vr-v2.4.0.intoto.jsonl',
      'spacetime-vr-v2.4.0.tar.gz',
    ]);
    const diff = await diffReleases(source.path, current.packageDir, { from: source.shownAs });
    assert.is(diff.from.source, 's3://artifacts/team/releases/v2.4.0/spacetime-vr-v2.4.0.tar.gz');
    assert.equal(
      diff.sections.find((x) => x.id === 'env-templates')!.changes.map((c) => `${c.change} ${c.subject}`),
      ['added B'],
    );
    source.dispose();
    assert.not.ok(existsSync(dirname(source.path)), 'the download is removed');
    // A download folder left by a run that died is removed by the next run.
    const stale = join(workspaceRoot, 'node_modules/.cache/spacetime-release-diff/999999999-abc');
    mkdirSync(stale, { recursive: true });
    const error = await openPackageSource('2.3.0', { workspaceRoot, env }).catch((e) => e);
    assert.instance(error, ReleaseError);
    assert.match(error.message, 'version 2.3.0 is not in ARTIFACT_REPO (s3://artifacts/team)');
    const again = await openPackageSource('2.4.0', { workspaceRoot, env });
    assert.not.ok(existsSync(stale));
    again.dispose();
    const denied = await openPackageSource('2.4.0', { workspaceRoot, env: { ...env, AWS_ACCESS_KEY_ID: 'WRONG' } }).catch((e) => e);
    assert.instance(denied, ReleaseError);
    assert.match(denied.message, /access denied/);
  } finally {
    await s3.close();
  }
});

test('the semantic diff matches named list entries by name and shows paths, not text', () => {
  const before = {
    spec: {
      replicas: 3,
      containers: [
        { name: 'app', image: 'a:1' },
        { name: 'side', image: 's:1' },
      ],
      args: ['x', 'y'],
    },
  };
  const after = {
    spec: {
      replicas: 5,
      containers: [
        { name: 'init', image: 'i:1' },
        { name: 'app', image: 'a:2' },
        { name: 'side', image: 's:1' },
      ],
      args: ['x'],
      paused: true,
    },
  };
  assert.equal(
    objectDiff(before, after).map((c) => formatPathChange(c)),
    [
      'spec.args[1]: removed',
      'spec.containers[name=app].image: "a:1" → "a:2"',
      'spec.containers[name=init]: added {"name":"init","image":"i:1"}',
      'spec.paused: added true',
      'spec.replicas: 3 → 5',
    ],
  );
  assert.equal(
    objectDiff(before, after)
      .filter((c) => c.path === 'spec.replicas')
      .map((c) => formatPathChange(c, true)),
    ['spec.replicas: changed (value hidden)'],
  );
});

test('the diff names Secret and env template changes without their values', async () => {
  const keys = { XDG_CONFIG_HOME: tempDir('report-keys') };
  const old = (await buildReleaseOf('1.0.0', { ...KUSTOMIZE, 'config/staging/.env.template': `API_KEY=${SECRET}\nOLD=1\n` }, keys))
    .packageDir;
  const current = (
    await buildReleaseOf(
      '1.1.0',
      {
        ...KUSTOMIZE,
        'kubernetes/base/secret.yaml': KUSTOMIZE['kubernetes/base/secret.yaml'].replace(SECRET, 'bmV3LXNlY3JldA==') + '  EXTRA: ZXh0cmE=\n',
        'kubernetes/base/deployment.yaml': KUSTOMIZE['kubernetes/base/deployment.yaml'].replace('app:1', 'app:2'),
        'config/staging/.env.template': 'API_KEY=changed-value\nNEW=2\n',
      },
      keys,
    )
  ).packageDir;
  const diff = diffPackages(await readForDiff(old), await readForDiff(current));
  const kubernetes = diff.sections.find((s) => s.id === 'kubernetes')!.changes;
  assert.equal(kubernetes, [
    {
      change: 'changed',
      scope: 'staging',
      subject: 'apps/v1 Deployment app-staging/app',
      details: ['spec.template.spec.containers[name=app].image: "app:1" → "app:2"'],
    },
    {
      change: 'changed',
      scope: 'staging',
      subject: 'v1 Secret app-staging/app',
      details: ['data.API_KEY: changed (value hidden)', 'data.EXTRA: added (value hidden)'],
    },
  ]);
  assert.equal(
    diff.sections.find((s) => s.id === 'env-templates')!.changes.map((c) => `${c.change} ${c.subject}`),
    ['added NEW', 'removed OLD'],
  );
  const everything = JSON.stringify(diff) + diffMarkdown(diff);
  for (const value of [SECRET, 'bmV3LXNlY3JldA==', 'ZXh0cmE=', 'changed-value']) assert.not.match(everything, value);
  assert.ok(diff.same_key, 'both are signed by one key');
  const other = (await buildReleaseOf('1.0.0', { ...KUSTOMIZE }, { XDG_CONFIG_HOME: tempDir('other-keys') })).packageDir;
  const rekeyed = diffPackages(await readForDiff(other), await readForDiff(current));
  assert.not.ok(rekeyed.same_key);
  assert.match(diffMarkdown(rekeyed), /\*\*signed by another key\*\*/);
});

const ALERTS = `groups:
  - name: availability
    rules:
      - alert: ServerDown
        expr: up{job="spacetime-vr"} == 0
        for: 2m
        labels: { severity: critical, team: game-platform }
        annotations: { summary: "Server down", runbook_url: "docs/runbook.md#down" }
      - alert: ServerDown
        expr: up{job="spacetime-vr"} == 0
        for: 30s
        labels: { severity: warning }
      - alert: HighLatency
        expr: |
          histogram_quantile(0.99, sum by (le) (rate(http_seconds_bucket{route="/a  b"}[5m]))) > 0.5
        for: 120s
        labels: { severity: warning }
      - alert: Gone
        expr: vector(1)
  - name: recording
    rules:
      - record: job:http:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - record: job:http:rate5m
        expr: sum by (job) (rate(http_requests_total[1m]))
`;

test("alert rules: each rule's expression, for, labels and annotations; spacing, comments and equal durations are no change", async () => {
  const keys = { XDG_CONFIG_HOME: tempDir('report-keys') };
  const changed = ALERTS.replace('for: 2m', 'for: 5m')
    .replace('summary: "Server down"', 'summary: "Game server down"')
    .replace('team: game-platform }', 'team: sre }')
    // The same expression spread over lines with a comment, the same duration written in minutes.
    .replace(
      '          histogram_quantile(0.99, sum by (le) (rate(http_seconds_bucket{route="/a  b"}[5m]))) > 0.5\n',
      '          # p99 over five minutes\n          histogram_quantile(0.99,\n' +
        '            sum by (le) (rate(http_seconds_bucket{route="/a  b"}[5m])))\n          > 0.5\n',
    )
    .replace('for: 120s', 'for: 2m')
    .replace(
      'expr: up{job="spacetime-vr"} == 0\n        for: 30s',
      'expr: up{job="spacetime-vr"} == 0 and on() vector(1)\n        for: 30s\n        keep_firing_for: 5m',
    )
    .replace('[1m]', '[2m]')
    .replace(/ {6}- alert: Gone\n {8}expr: vector\(1\)\n/, '      - alert: New\n        expr: vector(2)\n');
  const files = (alerts: string) => ({
    'monitoring/prometheus/alerts.yml': alerts,
    'monitoring/prometheus/prometheus.yml': 'global:\n  scrape_interval: 15s\n',
    'config/production/alert_rules.yml': alerts,
    'kubernetes/helm/templates/rules.yaml': 'groups: {{ .Values.notYaml }}\n',
  });
  const before = await buildReleaseOf('1.0.0', files(ALERTS), keys);
  const after = await buildReleaseOf('1.1.0', files(changed), keys);
  const diff = diffPackages(await readForDiff(before.packageDir), await readForDiff(after.packageDir));
  const rules = diff.sections.find((x) => x.id === 'alert-rules')!.changes;
  const expected = [
    ['removed Gone'],
    ['added New'],
    [
      'changed ServerDown (critical)',
      'for: "2m" → "5m"',
      'labels.team: "game-platform" → "sre"',
      'annotations.summary: "Server down" → "Game server down"',
    ],
    [
      'changed ServerDown (warning)',
      'expr: "up{job=\\"spacetime-vr\\"} == 0" → "up{job=\\"spacetime-vr\\"} == 0 and on() vector(1)"',
      'keep_firing_for: added "5m"',
    ],
    [
      'changed job:http:rate5m (recording rule) #2',
      'expr: "sum by (job) (rate(http_requests_total[1m]))" → "sum by (job) (rate(http_requests_total[2m]))"',
    ],
  ];
  for (const file of ['config/production/alert_rules.yml', 'monitoring/prometheus/alerts.yml'])
    assert.equal(
      rules.filter((r) => r.scope === file).map((r) => [`${r.change} ${r.subject}`, ...(r.details ?? [])]),
      expected,
      file,
    );
  assert.equal(
    rules.map((r) => r.scope),
    [...Array(5).fill('config/production/alert_rules.yml'), ...Array(5).fill('monitoring/prometheus/alerts.yml')],
  );
});

test('promql text and Prometheus durations', () => {
  assert.is(promqlText('  sum(rate(x[5m]))  # a comment\n  > 1 '), 'sum(rate(x[5m])) > 1');
  assert.is(promqlText('x{a="b  # c"}'), 'x{a="b  # c"}');
  assert.is(promqlText("x{a='it\\'s  '} or `raw\\  `"), "x{a='it\\'s  '} or `raw\\  `");
  assert.equal(
    [durationMs('1h30m'), durationMs('90m'), durationMs('500ms'), durationMs(undefined), durationMs('5 minutes')],
    [5400e3, 5400e3, 500, 0, undefined],
  );
});

test('the terminal gets plain text (keys as they are, control characters escaped); the file gets Markdown with keys as code', async () => {
  const keys = { XDG_CONFIG_HOME: tempDir('report-keys') };
  const old = await buildReleaseOf('1.0.0', { 'config/staging/.env.template': 'OLD_TOKEN=1\n' }, keys);
  const current = await buildReleaseOf(
    '1.1.0',
    {
      'config/staging/.env.template': 'KUBERNETES_NAMESPACE=x\n',
      // A name in a package's YAML may hold anything, an escape sequence or a bidirectional override too.
      'monitoring/prometheus/alerts.yml': 'groups:\n  - name: g\n    rules:\n      - alert: "Evil\\e[2J\\u202e"\n        expr: vector(1)\n',
    },
    keys,
  );
  const diff = diffPackages(await readForDiff(old.packageDir), await readForDiff(current.packageDir));
  const text = diffText(diff);
  assert.match(text, /^Release diff: 1\.0\.0 → 1\.1\.0\n={27}\n {2}from: /);
  assert.match(
    text,
    '\nEnvironment template keys\n-------------------------\n  staging\n    added   KUBERNETES_NAMESPACE\n    removed OLD_TOKEN\n',
  );
  assert.match(text, '    added   Evil\\u{1b}[2J\\u{202e}\n');
  assert.not.match(text, /[\u001b\u202e]/);
  assert.not.match(text, /\\_|\*\*/);
  const markdown = diffMarkdown(diff);
  assert.match(markdown, '### staging\n\n- **added** `KUBERNETES_NAMESPACE`\n- **removed** `OLD_TOKEN`\n');
  assert.is(codeSpan('a`b'), '``a`b``');
  assert.is(codeSpan('`x'), '`` `x ``');
});

test('HTML and Markdown escape names that hold markup', () => {
  assert.is(escapeHtml(`<img src=x onerror="a('&')">`), '&lt;img src=x onerror=&quot;a(&#39;&amp;&#39;)&quot;&gt;');
  assert.is(escapeMarkdown('a <b> & `c` *d* [e](f) |g|'), 'a \\<b\\> \\& \\`c\\` \\*d\\* \\[e\\](f) \\|g\\|');
  const nasty = 'docs/<script>alert(1)</script> & co.md';
  const manifest = {
    name: 'spacetime-vr',
    version: '1.0.0',
    build_date: 'd',
    git_commit: '<c>',
    git_branch: 'b',
    git_dirty: false,
    build_user: 'u',
    configuration: 'development',
    signing: { mode: 'development', fingerprint: 'F', development: true },
    sections: [{ name: 'docs', files: 1, bytes: 10, metadata: {} }],
    files: [{ path: nasty, size: 10, sha256: 'x', mode: '0644' }],
    tools: {},
    skipped: [{ artifact: '<binary>', reason: 'a & b' }],
  } as unknown as Manifest;
  const html = renderReportHtml({
    manifest,
    packageName: 'spacetime-vr-v1.0.0',
    archives: [],
    publicKey: 'release-signing-key.asc',
    validation: [
      {
        section: 'docs',
        gate: 'validate',
        mode: 'development',
        status: 'fail',
        checks: ['links'],
        findings: [{ status: 'fail', evidence: `${nasty}:3: [docs/link] <broken>` }],
      },
    ],
    tasks: [{ id: 'docs:package', dependsOn: [], outcome: 'cache', durationMs: 12 }],
  });
  assert.not.match(html, '<script');
  assert.not.match(html, '<broken>');
  assert.not.match(html, '<binary>');
  assert.match(html, 'docs/&lt;script&gt;alert(1)&lt;/script&gt; &amp; co.md');
  assert.not.match(html, /https?:\/\//);
});

test('task outcomes and durations come from the Nx profile; tasks it does not list say so', () => {
  const dir = tempDir('report-tasks');
  recordTaskGraph(join(dir, 'graph.json'), {
    tasks: {
      'a:package': { id: 'a:package' },
      'b:package': { id: 'b:package' },
      'release:assemble': { id: 'release:assemble' },
      'c:package': { id: 'c:package' },
    },
    dependencies: { 'a:package': [], 'b:package': [], 'c:package': [], 'release:assemble': [{ id: 'b:package' }, 'a:package'] },
  });
  writeFileSync(
    join(dir, 'profile.json'),
    JSON.stringify([
      { name: 'thread_name', ph: 'M', args: { name: 'Group #1' } },
      { name: 'a:package', ph: 'X', dur: 1_500_000, args: { status: 'local-cache' } },
      { name: 'b:package', ph: 'X', dur: 2_000, args: { status: 'failure' } },
      { name: 'release:assemble', ph: 'X', dur: 4_000_000, args: { status: 'success' } },
    ]),
  );
  assert.equal(readTaskRuns(join(dir, 'graph.json'), join(dir, 'profile.json')), [
    { id: 'a:package', dependsOn: [], outcome: 'cache', durationMs: 1500 },
    { id: 'b:package', dependsOn: [], outcome: 'failed', durationMs: 2 },
    { id: 'c:package', dependsOn: [], outcome: 'no timing recorded' },
    { id: 'release:assemble', dependsOn: ['a:package', 'b:package'], outcome: 'ran', durationMs: 4000 },
  ]);
  assert.is(readTaskRuns(join(dir, 'missing.json'), undefined), undefined);
});

test.run();
