import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSigner } from '../libs/release-kit/src/assemble/signing';
import { formatSha256Sums } from '../libs/release-kit/src/format/checksums';
import { stableJsonBytes } from '../libs/release-kit/src/support/stable-json';
import { pngSize, renderPage } from './chromium';
import { tarGz } from './crafted-archives';
import { putObject, startS3Server } from '../libs/release-kit/test/s3-server';
import { cleanUp, copyWorkspace, nx, sh, tempDir } from './workspace';

// One build of the package; the "old" package is a copy of it with one change of each kind
// made by hand, so the diff must report exactly those changes and nothing else.
let ws = '';
let env: NodeJS.ProcessEnv = {};
let current = '';
let old = '';
const SECRET_VALUE = 'do-not-print-4f7a9c';
const PROFILE = 'dist/release/nx-profile.json';

test.before(() => {
  ws = copyWorkspace('report');
  env = { XDG_CONFIG_HOME: tempDir('signing-keys') };
  current = join(ws, 'dist/release/spacetime-vr-v2.5.0');
  old = join(tempDir('old-release'), 'spacetime-vr-v2.4.0');
});
test.after(cleanUp);

test('release:assemble records its task graph; with NX_PROFILE, Nx records what ran and what came from the cache', () => {
  const first = nx(ws, ['run', 'release:assemble', '--output-style=static'], { ...env, NX_PROFILE: PROFILE });
  assert.is(first.status, 0, first.output);
  const validate = nx(ws, ['run', 'config:validate', '--output-style=static'], env);
  assert.is(validate.status, 0, validate.output);
  const again = nx(ws, ['run', 'release:assemble', '--output-style=static'], { ...env, NX_PROFILE: PROFILE });
  assert.is(again.status, 0, again.output);
  const graph = JSON.parse(readFileSync(join(ws, 'dist/release/.task-graph.json'), 'utf8'));
  const assemble = graph.tasks.find((t: { id: string }) => t.id === 'release:assemble:development');
  assert.ok(assemble?.dependsOn.includes('config:package'), JSON.stringify(graph));
  assert.ok(existsSync(join(ws, PROFILE)));
});

test('release:diff against a copy changed once in each kind reports exactly those changes', async () => {
  simulateImageBuild(current, { id: 'b', size: 150_000_000, version: '2.5.0', binaryBytes: 3000 });
  await reseal(current);
  cpSync(current, old, { recursive: true });
  changeToOldPackage(old);
  await reseal(old);

  const run = nx(ws, ['run', 'release:diff', `--from=${old}`, '--output-style=static'], env);
  assert.is(run.status, 0, run.output);
  const diff = JSON.parse(readFileSync(join(ws, 'dist/release/release-diff.json'), 'utf8'));
  assert.is(diff.from.version, '2.4.0');
  assert.is(diff.to.version, '2.5.0');
  const reported = diff.sections.flatMap(
    (s: { id: string; changes: Array<{ change: string; scope: string; subject: string; details?: string[] }> }) =>
      s.changes.map((c) =>
        [
          s.id,
          c.change,
          c.scope,
          c.subject,
          ...(s.id === 'files' && c.subject !== 'binaries/spacetime-server' ? [] : (c.details ?? [])),
        ].join(' | '),
      ),
  );
  assert.equal(reported, [
    'files | changed | binaries | binaries/spacetime-server | size 2.0 KiB → 2.9 KiB',
    'files | changed | config | config/staging/.env.template',
    'files | removed | docs | docs/notes <old> & more.md',
    'files | changed | kubernetes | kubernetes/overlays/staging/deployment-patch.yaml',
    'files | changed | kubernetes | kubernetes/overlays/staging/kustomization.yaml',
    'files | removed | monitoring | monitoring/grafana/dashboards/legacy-lobby.json',
    'files | changed | monitoring | monitoring/prometheus/alerts.yml',
    'files | added | scripts | scripts/migration/sql/003_create_inventory_and_player_state.sql',
    'files | added | security | security/reports/VULNERABILITY_ASSESSMENT.md',
    'env-templates | added | staging | KUBERNETES_NAMESPACE',
    'env-templates | removed | staging | LEGACY_TOKEN',
    'kubernetes | changed | staging | apps/v1 Deployment spacetime-vr-staging/spacetime-vr | spec.replicas: 3 → 2',
    'kubernetes | added | staging | policy/v1 PodDisruptionBudget spacetime-vr-staging/spacetime-vr',
    'alert-rules | added | monitoring/prometheus/alerts.yml | SpaceTimeAllServersDown (critical)',
    'alert-rules | changed | monitoring/prometheus/alerts.yml | SpaceTimeServerDown (critical) | ' +
      'expr: "up == 0" → "up{job=\\"spacetime-vr\\"} == 0" | for: "5m" → "2m"',
    'dashboards | removed | monitoring/grafana/dashboards | legacy-lobby "Legacy <Lobby> & Queues"',
    'migrations | added | scripts/migration/sql | 003_create_inventory_and_player_state.sql',
    `image | changed | image | image ID | sha256:${'a'.repeat(64)} → sha256:${'b'.repeat(64)}`,
    'image | removed | image tags | spacetime-vr:2.4.0',
    'image | added | image tags | spacetime-vr:2.5.0',
    'sizes | changed | sizes | server binary | 2.0 KiB → 2.9 KiB (+1000 bytes)',
    'sizes | changed | sizes | image (uncompressed) | 133.5 MiB → 143.1 MiB (+9.5 MiB)',
  ]);

  const markdown = readFileSync(join(ws, 'dist/release/release-diff.md'), 'utf8');
  assert.match(markdown, '# Release diff: 2.4.0 → 2.5.0');
  assert.match(markdown, '- **added** policy/v1 PodDisruptionBudget spacetime-vr-staging/spacetime-vr');
  assert.match(markdown, '- **removed** docs/notes \\<old\\> \\& more.md');
  assert.match(markdown, '### staging\n\n- **added** `KUBERNETES_NAMESPACE`\n- **removed** `LEGACY_TOKEN`\n');
  // The terminal gets plain text: the same names without Markdown's escapes.
  assert.match(run.output, /Release diff: 2\.4\.0 → 2\.5\.0\n=+\n/);
  assert.match(run.output, /\n\s+added\s+KUBERNETES_NAMESPACE\n\s+removed\s+LEGACY_TOKEN\n/);
  assert.match(run.output, /\n\s+removed\s+docs\/notes <old> & more\.md\n/);
  assert.match(run.output, /for: "5m" → "2m"/);
  assert.not.match(run.output, /\\_|\\<|\*\*/);
  for (const text of [run.output, markdown, JSON.stringify(diff)]) assert.not.match(text, SECRET_VALUE);
});

test('release:diff --from=<version> reads an s3:// repository (s3rver), verifies what it downloads and prints JSON with --json', async () => {
  const s3 = await startS3Server(tempDir('s3rver'), ['artifacts']);
  try {
    // The archive as assemble wrote it, before the edits the test above made to the folder.
    for (const name of ['spacetime-vr-v2.5.0.tar.gz', 'release-signing-key.asc'])
      await putObject(s3.client, 'artifacts', `team/releases/v2.5.0/${name}`, readFileSync(join(ws, 'dist/release', name)));
    const s3env = { ...env, ...s3.env, ARTIFACT_REPO: 's3://artifacts/team' };
    const run = nx(ws, ['run', 'release:diff', '--from=2.5.0', '--json', '--output-style=static'], s3env);
    assert.is(run.status, 0, run.output);
    assert.match(run.output, '"source": "s3://artifacts/team/releases/v2.5.0/spacetime-vr-v2.5.0.tar.gz"');
    const diff = JSON.parse(readFileSync(join(ws, 'dist/release/release-diff.json'), 'utf8'));
    const files = diff.sections.find((x: { id: string }) => x.id === 'files').changes.map((c: { subject: string }) => c.subject);
    assert.ok(files.includes('binaries/spacetime-server'), JSON.stringify(files));
    const missing = nx(ws, ['run', 'release:diff', '--from=2.3.0', '--output-style=static'], s3env);
    assert.is.not(missing.status, 0, missing.output);
    assert.match(missing.output, 'version 2.3.0 is not in ARTIFACT_REPO (s3://artifacts/team)');
  } finally {
    await s3.close();
  }
});

test('release:report writes a self-contained page that renders in Chromium at phone and desktop widths', async () => {
  const run = nx(ws, ['run', 'release:report', `--from=${old}`, '--output-style=static'], env);
  assert.is(run.status, 0, run.output);
  const page = join(ws, 'dist/release/report.html');
  const html = readFileSync(page, 'utf8');
  assert.not.match(html, SECRET_VALUE);
  assert.not.match(html, '<old>');
  assert.match(html, 'docs/notes &lt;old&gt; &amp; more.md');
  assert.not.match(html, /(src|href)=["']?(https?:)?\/\//);

  const shots = tempDir('report-screenshots');
  const started = Date.now();
  const [phone, desktop] = await renderPage(`file://${page}`, [
    { width: 390, height: 844, png: join(shots, 'phone.png') },
    { width: 1280, height: 900, png: join(shots, 'desktop.png') },
  ]);
  console.log(`report.html: ${html.length} bytes; rendered at two widths in ${Date.now() - started} ms`);
  for (const [render, width] of [
    [phone, 390],
    [desktop, 1280],
  ] as const) {
    assert.equal(render.errors, [], `${width}px: ${render.errors.join('\n')}`);
    assert.equal(render.requests, []);
    assert.is(render.viewportWidth, width);
    assert.ok(render.scrollWidth <= width, `${width}px: the page is ${render.scrollWidth}px wide`);
    for (const text of [
      'spacetime-vr 2.5.0',
      'Task graph of this build',
      'Changes since 2.4.0',
      'docs/notes <old> & more.md',
      'sha256sum -c SHA256SUMS',
      'gpg --verify SHA256SUMS.asc SHA256SUMS',
      'npx nx run release:verify',
    ]) {
      assert.ok(render.bodyText.includes(text), `${width}px: "${text}" not shown`);
    }
  }
  // The second assemble restored every section task from the cache and ran only itself.
  assert.match(desktop.bodyText, /config:package\s+cache/);
  assert.match(desktop.bodyText, /release:assemble:development\s+ran/);
  assert.match(desktop.bodyText, /config\s+validate \(development\)\s+pass/);
  assert.match(desktop.bodyText, 'promtool check config config/production/prometheus.yml');
  for (const [name, width, height] of [
    ['phone.png', 390, 844],
    ['desktop.png', 1280, 900],
  ] as const) {
    const png = pngSize(join(shots, name));
    assert.equal([png.width, png.height], [width, height]);
    assert.ok(png.bytes > 20_000, `${name}: ${png.bytes} bytes`);
  }
});

test('the render check catches a page with a script error, an external request or a page too wide for a phone', async () => {
  const dir = tempDir('broken-page');
  writeFileSync(
    join(dir, 'broken.html'),
    '<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"></head><body><img src="https://example.invalid/logo.png"><div style="width:900px">wide</div><script>notDefined()</script></body></html>',
  );
  const [render] = await renderPage(`file://${join(dir, 'broken.html')}`, [{ width: 390, height: 844, png: join(dir, 'broken.png') }]);
  assert.ok(
    render.errors.some((e) => /notDefined is not defined/.test(e)),
    render.errors.join('\n'),
  );
  assert.equal(render.requests, ['https://example.invalid/logo.png']);
  assert.ok(render.scrollWidth > 390);
});

test('the documented screenshot command works', () => {
  const png = join(tempDir('report-cli-screenshot'), 'report.png');
  const run = sh(
    ws,
    `chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --screenshot=${png} --window-size=390,844 file://${join(ws, 'dist/release/report.html')}`,
  );
  assert.is(run.status, 0, run.output);
  assert.equal([pngSize(png).width, pngSize(png).height], [390, 844]);
});

test('release:diff refuses an old archive that does not verify, and writes nothing outside its temporary folder', () => {
  const marker = `escaped-${process.pid}-${Date.now()}.yaml`;
  const escapeTo = join(tmpdir(), marker);
  const top = 'spacetime-vr-v2.4.0';
  const overlay = 'resources:\n  - ../../base\n';
  const escaping = `kubernetes/../../../../../../../..${tmpdir()}/${marker}`;
  const listed = (path: string, data: string) => ({
    path,
    size: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    mode: '0644',
  });
  const manifest = JSON.stringify({
    name: 'spacetime-vr',
    version: '2.4.0',
    sections: [{ name: 'kubernetes', files: 2, bytes: 2, metadata: {} }],
    files: [listed('kubernetes/overlays/staging/kustomization.yaml', overlay), listed(escaping, 'pwned: true\n')],
  });
  const hostile = tarGz([
    { path: `${top}/MANIFEST.json`, data: manifest },
    { path: `${top}/kubernetes/overlays/staging/kustomization.yaml`, data: overlay },
    { path: `${top}/${escaping}`, data: 'pwned: true\n' },
  ]);
  const dir = tempDir('hostile-old');
  writeFileSync(join(dir, `${top}.tar.gz`), hostile);
  const repo = tempDir('hostile-repo');
  mkdirSync(join(repo, 'releases/v2.4.0'), { recursive: true });
  writeFileSync(join(repo, `releases/v2.4.0/${top}.tar.gz`), hostile);
  // Without ARTIFACT_REPO a version is read from the default repository, as release:publish writes it.
  mkdirSync(join(ws, 'dist/artifact-repo/releases/v2.4.0'), { recursive: true });
  writeFileSync(join(ws, `dist/artifact-repo/releases/v2.4.0/${top}.tar.gz`), hostile);
  for (const [from, extraEnv] of [
    [join(dir, `${top}.tar.gz`), {}],
    ['2.4.0', { ARTIFACT_REPO: pathToFileURL(repo).href }],
    ['2.4.0', { ARTIFACT_REPO: '' }],
  ] as const) {
    const run = nx(ws, ['run', 'release:diff', `--from=${from}`, '--output-style=static'], { ...env, ...extraEnv });
    assert.is.not(run.status, 0, run.output);
    assert.match(run.output, /does not verify, so it is not read/);
    assert.not.ok(existsSync(escapeTo), `${escapeTo} was written`);
  }
});

/** The changes a reviewer should see, made backwards: to the old package. */
function changeToOldPackage(dir: string): void {
  const edit = (path: string, change: (text: string) => string) => {
    const text = readFileSync(join(dir, path), 'utf8');
    assert.is.not(change(text), text, `${path}: the edit found nothing to change`);
    writeFileSync(join(dir, path), change(text));
  };
  // Files: one added in the new package, one removed (with characters HTML and Markdown care about).
  rmSync(join(dir, 'security/reports/VULNERABILITY_ASSESSMENT.md'));
  writeFileSync(join(dir, 'docs/notes <old> & more.md'), '# notes\n');
  // Environment template: KUBERNETES_NAMESPACE is new, LEGACY_TOKEN (with its value) is gone.
  edit('config/staging/.env.template', (t) => t.replace(/^KUBERNETES_NAMESPACE=.*\n/m, '') + `LEGACY_TOKEN=${SECRET_VALUE}\n`);
  // Kubernetes: staging had 3 replicas and no PodDisruptionBudget.
  edit('kubernetes/overlays/staging/deployment-patch.yaml', (t) => t.replace('replicas: 2', 'replicas: 3'));
  edit('kubernetes/overlays/staging/kustomization.yaml', (t) =>
    t.replace(
      'patches:\n',
      'patches:\n  - patch: |-\n      $patch: delete\n' +
        '      apiVersion: policy/v1\n      kind: PodDisruptionBudget\n      metadata:\n        name: spacetime-vr\n',
    ),
  );
  // Monitoring: one alert rule is new, one waited 5m and had another expression, one dashboard was dropped.
  edit('monitoring/prometheus/alerts.yml', (t) =>
    t
      .replace(/ {6}- alert: SpaceTimeAllServersDown\n[\s\S]*?(?= {6}- alert: )/, '')
      .replace(
        '- alert: SpaceTimeServerDown\n        expr: up{job="spacetime-vr"} == 0\n        for: 2m\n',
        '- alert: SpaceTimeServerDown\n        expr: up == 0\n        for: 5m\n',
      ),
  );
  writeFileSync(
    join(dir, 'monitoring/grafana/dashboards/legacy-lobby.json'),
    JSON.stringify({ uid: 'legacy-lobby', title: 'Legacy <Lobby> & Queues', panels: [] }),
  );
  // Scripts: migration 003 is new.
  rmSync(join(dir, 'scripts/migration/sql/003_create_inventory_and_player_state.sql'));
  simulateImageBuild(dir, { id: 'a', size: 140_000_000, version: '2.4.0', binaryBytes: 2000 });
}

/**
 * What a build with Godot 4 and a Docker engine adds: the server binary and the image's
 * metadata in MANIFEST.json (this machine has neither, so the test writes them).
 */
function simulateImageBuild(dir: string, image: { id: string; size: number; version: string; binaryBytes: number }): void {
  writeFileSync(join(dir, 'binaries/spacetime-server'), Buffer.alloc(image.binaryBytes, 7), { mode: 0o755 });
  rewriteManifest(dir, (manifest) => {
    manifest.version = image.version;
    manifest.sections.find((s) => s.name === 'binaries')!.metadata.image = {
      id: `sha256:${image.id.repeat(64)}`,
      size: image.size,
      tags: [`spacetime-vr:${image.version}`, 'spacetime-vr:latest'],
      tarball: `spacetime-vr-${image.version}.tar.gz`,
    };
  });
}

/** Lists the folder's files in MANIFEST.json again, as assemble would have. */
function rewriteManifest(
  dir: string,
  change: (manifest: { version: string; sections: Array<{ name: string; metadata: Record<string, unknown> }> }) => void,
): void {
  const file = join(dir, 'MANIFEST.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  const paths: string[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else paths.push(relative(dir, path));
    }
  };
  walk(dir);
  manifest.files = paths
    .filter((p) => !['MANIFEST.json', 'SHA256SUMS', 'SHA256SUMS.asc'].includes(p))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((p) => {
      const data = readFileSync(join(dir, p));
      const mode = (statSync(join(dir, p)).mode & 0o7777).toString(8).padStart(4, '0');
      return { path: p, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), mode };
    });
  change(manifest);
  writeFileSync(file, stableJsonBytes(manifest));
}

/**
 * Signs a package folder edited by hand again, as assemble would have (SHA256SUMS over every file,
 * signed with the build's own key), with the public key beside it: release:diff reads only
 * packages that verify.
 */
async function reseal(dir: string): Promise<void> {
  const files = (JSON.parse(readFileSync(join(dir, 'MANIFEST.json'), 'utf8')).files as Array<{ path: string; sha256: string }>).concat({
    path: 'MANIFEST.json',
    sha256: createHash('sha256')
      .update(readFileSync(join(dir, 'MANIFEST.json')))
      .digest('hex'),
  });
  const sums = Buffer.from(formatSha256Sums(files));
  writeFileSync(join(dir, 'SHA256SUMS'), sums);
  const signer = await resolveSigner(env);
  writeFileSync(join(dir, 'SHA256SUMS.asc'), await signer.sign(sums, new Date()));
  writeFileSync(join(dir, '..', 'release-signing-key.asc'), signer.publicKey);
  // The attestation beside it attests the bytes before these edits.
  rmSync(`${dir}.intoto.jsonl`, { force: true });
}

test.run();
