import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSbom, npmPurl, readNpmLock, SBOM_FILE, SbomInput } from '../src/assemble/sbom';
import { buildFixtureRelease, fixtureWorkspace, git } from './fixture-release';
import { cleanTempDirs, tempDir, tool } from './helpers';

type Bom = {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  version: number;
  metadata: {
    timestamp: string;
    component: { name: string; version: string; 'bom-ref': string };
    properties: { name: string; value: string }[];
  };
  components: {
    type: string;
    name: string;
    group?: string;
    version?: string;
    purl?: string;
    scope?: string;
    'bom-ref': string;
    hashes?: { alg: string; content: string }[];
  }[];
  dependencies: { ref: string; dependsOn: string[] }[];
};

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const SRI = `sha512-${createHash('sha512').update('tarball').digest('base64')}`;

const LOCK = {
  name: 'ws',
  lockfileVersion: 3,
  packages: {
    '': { name: 'ws', version: '0.0.0', workspaces: ['libs/x'] },
    'libs/x': { name: '@spacetime/x', version: '1.0.0' },
    'node_modules/@spacetime/x': { resolved: 'libs/x', link: true },
    'node_modules/yaml': { version: '2.9.1', integrity: SRI },
    'node_modules/@nx/devkit': { version: '24.0.0', integrity: SRI, dev: true },
    'node_modules/a/node_modules/yaml': { version: '2.9.1', integrity: SRI, dev: true },
  },
};

function input(): SbomInput {
  return {
    version: '2.5.0',
    buildDate: 1700000000,
    files: [
      { path: 'server/spacetime-server', sha256: sha('server') },
      { path: 'DEPLOYMENT_CHECKLIST.md', sha256: sha('checklist') },
      { path: 'docker/image.tar.gz', sha256: sha('image') },
    ],
    fragments: [
      { section: 'docs', metadata: {} },
      {
        section: 'server',
        metadata: {
          image: {
            id: `sha256:${sha('img')}`,
            size: 1,
            tags: ['spacetime-vr-server:2.5.0', 'spacetime-vr-server:latest'],
            labels: {},
            tarball: 'image.tar.gz',
          },
          godot: { version: '3.6.stable' },
        },
      },
    ],
    skipped: [{ artifact: 'docker image', reason: 'no Docker engine' }],
    npm: [
      { name: 'yaml', version: '2.9.1', integrity: SRI },
      { name: '@nx/devkit', version: '24.0.0', integrity: SRI, dev: true },
      { name: 'no-integrity', version: '1.0.0' },
    ],
    tools: { zlib: '1.3', tar: '7.5.23' },
  };
}

/** The CycloneDX 1.5 structure a consumer relies on. */
function assertCycloneDx(bom: Bom): void {
  assert.is(bom.bomFormat, 'CycloneDX');
  assert.is(bom.specVersion, '1.5');
  assert.is(bom.version, 1);
  assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(bom.metadata.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(Array.isArray(bom.components) && bom.components.length > 0);
  const refs = bom.components.map((c) => c['bom-ref']);
  assert.is(new Set(refs).size, refs.length, 'bom-refs are unique');
  for (const c of bom.components) {
    assert.ok(['file', 'container', 'library', 'application'].includes(c.type), c.type);
    assert.type(c.name, 'string');
    for (const h of c.hashes ?? []) {
      assert.ok(['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'].includes(h.alg), h.alg);
      assert.match(h.content, /^([a-f0-9]{40}|[a-f0-9]{64}|[a-f0-9]{96}|[a-f0-9]{128})$/);
    }
  }
  const known = new Set([...refs, bom.metadata.component['bom-ref']]);
  for (const d of bom.dependencies) for (const r of [d.ref, ...d.dependsOn]) assert.ok(known.has(r), `dependency ref ${r} is defined`);
}

test('lists every package file with its SHA-256, the image and the npm packages', () => {
  const text = buildSbom(input()).toString('utf8');
  const bom: Bom = JSON.parse(text);
  assertCycloneDx(bom);
  assert.is(bom.metadata.timestamp, '2023-11-14T22:13:20Z');
  assert.equal(bom.metadata.component, { 'bom-ref': 'spacetime-vr@2.5.0', name: 'spacetime-vr', type: 'application', version: '2.5.0' });
  assert.equal(bom.metadata.properties, [{ name: 'spacetime:skipped', value: 'docker image: no Docker engine' }]);

  const files = bom.components.filter((c) => c.type === 'file');
  assert.equal(
    files.map((f) => [f.name, f.hashes]),
    [
      ['DEPLOYMENT_CHECKLIST.md', [{ alg: 'SHA-256', content: sha('checklist') }]],
      ['docker/image.tar.gz', [{ alg: 'SHA-256', content: sha('image') }]],
      ['server/spacetime-server', [{ alg: 'SHA-256', content: sha('server') }]],
    ],
  );
  const [image] = bom.components.filter((c) => c.type === 'container');
  assert.is(image.name, 'spacetime-vr-server');
  assert.is(image.version, `sha256:${sha('img')}`);
  assert.equal(image.hashes, [{ alg: 'SHA-256', content: sha('img') }]);

  const npm = bom.components.filter((c) => c.type === 'library');
  assert.equal(
    npm.map((c) => c.purl),
    ['pkg:npm/%40nx/devkit@24.0.0', 'pkg:npm/no-integrity@1.0.0', 'pkg:npm/yaml@2.9.1'],
  );
  const devkit = npm[0];
  assert.is(devkit.group, '@nx');
  assert.is(devkit.name, 'devkit');
  assert.is(devkit.scope, 'excluded');
  assert.equal(devkit.hashes, [{ alg: 'SHA-512', content: createHash('sha512').update('tarball').digest('hex') }]);
  assert.is(npm[1].hashes, undefined);
  assert.equal(bom.dependencies[0].dependsOn.length, files.length + 1);
  assert.ok(text.endsWith('}\n'));
});

test('is deterministic: same input, same bytes; any change, another serial number', () => {
  const a = buildSbom(input()).toString('utf8');
  assert.is(buildSbom(input()).toString('utf8'), a);
  const shuffled = input();
  shuffled.files.reverse();
  shuffled.npm.reverse();
  assert.is(buildSbom(shuffled).toString('utf8'), a, 'input order does not matter');
  const changed = input();
  changed.files[0].sha256 = sha('other');
  assert.is.not(JSON.parse(buildSbom(changed).toString('utf8')).serialNumber, JSON.parse(a).serialNumber);
  assert.not.match(a, new Date().toISOString().slice(0, 10), 'no time but the build date');
});

test('reads package-lock.json: packages only, no links, deduplicated, dev only when dev everywhere', () => {
  const dir = tempDir('sbom-lock');
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(LOCK));
  assert.equal(readNpmLock(join(dir, 'package-lock.json')), [
    { name: 'yaml', version: '2.9.1', integrity: SRI, dev: false },
    { name: '@nx/devkit', version: '24.0.0', integrity: SRI, dev: true },
  ]);
  assert.equal(readNpmLock(join(dir, 'missing.json')), []);
  assert.is(npmPurl('@a/b', '1.0.0-rc.1+x'), 'pkg:npm/%40a/b@1.0.0-rc.1%2Bx');
});

test('release:assemble ships SBOM.cdx.json: every other package file, the lock packages, identical on rebuild', async () => {
  const ws = fixtureWorkspace();
  writeFileSync(join(ws, 'package-lock.json'), JSON.stringify(LOCK));
  git(ws, 'add', '-A');
  git(ws, '-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'lock');
  const result = await buildFixtureRelease(ws);
  const file = join(result.packageDir, SBOM_FILE);
  const bytes = readFileSync(file);
  const bom: Bom = JSON.parse(bytes.toString('utf8'));
  assertCycloneDx(bom);
  assert.is(bom.metadata.component.version, '1.2.3');
  assert.is(bom.metadata.timestamp, result.manifest.build_date);

  // Listed in MANIFEST.json and SHA256SUMS like any other file.
  const listed = result.manifest.files.find((f) => f.path === SBOM_FILE);
  assert.ok(listed, 'MANIFEST.json lists the SBOM');
  assert.is(listed!.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.match(readFileSync(join(result.packageDir, 'SHA256SUMS'), 'utf8'), `${listed!.sha256}  ./${SBOM_FILE}\n`);
  assert.match(tool('sha256sum', ['-c', 'SHA256SUMS'], result.packageDir), `./${SBOM_FILE}: OK`);

  // Every package file of MANIFEST.json but the SBOM itself, with the same SHA-256.
  const files = new Map(bom.components.filter((c) => c.type === 'file').map((c) => [c.name, c.hashes![0].content]));
  assert.equal(
    [...files.entries()],
    result.manifest.files
      .filter((f) => f.path !== SBOM_FILE)
      .map((f) => [f.path, f.sha256])
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  assert.equal(
    bom.components.filter((c) => c.type === 'library').map((c) => c.purl),
    ['pkg:npm/%40nx/devkit@24.0.0', 'pkg:npm/yaml@2.9.1'],
  );

  // A second build from scratch gives the same bytes.
  rmSync(join(ws, 'dist'), { recursive: true, force: true });
  const again = await buildFixtureRelease(ws);
  assert.is(again.upToDate, false);
  assert.ok(readFileSync(join(again.packageDir, SBOM_FILE)).equals(bytes), 'identical SBOM bytes');
});

test('the workspace lock file yields the real npm dependencies', () => {
  const deps = readNpmLock(join(__dirname, '..', '..', '..', 'package-lock.json'));
  const names = new Set(deps.map((d) => d.name));
  for (const name of ['openpgp', 'tar', 'yaml', 'uvu']) assert.ok(names.has(name), name);
  assert.not.ok(names.has('@spacetime/release-kit'), 'workspace links are not npm dependencies');
  assert.ok(deps.filter((d) => d.integrity).length > deps.length * 0.9);
});

test.after(cleanTempDirs);
test.run();
