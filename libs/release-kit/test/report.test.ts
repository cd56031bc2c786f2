import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReleaseError } from '../src/support/errors';
import { Manifest } from '../src/format/manifest';
import { escapeHtml, renderReportHtml } from '../src/report/html';
import { diffMarkdown, escapeMarkdown } from '../src/report/markdown';
import { formatPathChange, objectDiff } from '../src/report/object-diff';
import { readPackage } from '../src/report/package-reader';
import { resolvePackageSource } from '../src/report/package-source';
import { diffPackages, readForDiff } from '../src/report/release-diff';
import { readTaskRuns, recordTaskGraph } from '../src/report/task-graph';
import { buildReleaseOf } from './fixture-release';
import { cleanTempDirs, tempDir, tool, writeTree } from './helpers';

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

test('--from resolves a path, or a version in a file:// ARTIFACT_REPO; s3:// and unknown versions are clear errors', () => {
  const repo = tempDir('artifact-repo');
  writeTree(repo, { 'releases/v2.4.0/spacetime-vr-v2.4.0.tar.gz': 'archive' });
  const env = { ARTIFACT_REPO: pathToFileURL(repo).href };
  assert.is(resolvePackageSource('2.4.0', '/', env), join(repo, 'releases/v2.4.0/spacetime-vr-v2.4.0.tar.gz'));
  assert.is(resolvePackageSource('v2.4.0', '/', env), join(repo, 'releases/v2.4.0/spacetime-vr-v2.4.0.tar.gz'));
  assert.is(resolvePackageSource('releases', repo, env), join(repo, 'releases'));
  const fails = (from: string, e: NodeJS.ProcessEnv, message: string) => {
    try {
      resolvePackageSource(from, repo, e);
      assert.unreachable(from);
    } catch (error) {
      assert.instance(error, ReleaseError);
      assert.match((error as Error).message, message);
    }
  };
  fails('2.3.0', env, 'version 2.3.0 is not in ARTIFACT_REPO');
  fails('2.3.0', {}, 'ARTIFACT_REPO is not set');
  fails('2.3.0', { ARTIFACT_REPO: 's3://bucket/prefix' }, 'download s3://bucket/prefix/releases/v2.3.0/spacetime-vr-v2.3.0.tar.gz');
  fails('old-build', env, 'neither an existing package folder or archive nor a version');
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
