import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { deriveOverlay, resolveNewEnvironment } from '../lib/environment-scaffold';
import { cleanTempDirs, tempDir, tool } from '../../libs/release-kit/test/helpers';

// A new environment's overlay gets the database egress and the storage settings of the overlay it
// copies; --postgresqlCidrs and --redisCidrs point its egress at managed databases, as the Helm
// chart's networkPolicy.<database>.cidrs does. Rendered with the real kubectl kustomize.

test.after(cleanTempDirs);

const KUBERNETES = join(__dirname, '../../libs/sections/kubernetes/src');
const overlayFiles = (env: string) => {
  const dir = join(KUBERNETES, 'overlays', env);
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
};

/** The overlay written beside the real base and components, rendered by kubectl kustomize. */
function render(files: Record<string, string>): Array<Record<string, any>> {
  const root = join(tempDir('egress'), 'kubernetes');
  cpSync(KUBERNETES, root, { recursive: true });
  mkdirSync(join(root, 'overlays/qa'));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(root, 'overlays/qa', file), text);
  for (const dir of ['base', 'overlays/qa']) {
    const file = join(root, dir, 'kustomization.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').split('{{version}}').join('2.6.0'));
  }
  return parseAllDocuments(tool('kubectl', ['kustomize', join(root, 'overlays/qa')])).map((d) => d.toJS());
}

const egressOf = (objects: Array<Record<string, any>>, name: string) =>
  objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name)!.spec.egress;

test('without CIDRs the new overlay keeps the in-namespace database pods of the overlay it copies, and no claim', () => {
  const out = deriveOverlay(overlayFiles('staging'), resolveNewEnvironment({ name: 'qa', from: 'staging' }), 'overlays/staging');
  assert.ok(out['database-egress.yaml'], Object.keys(out).join(', '));
  assert.match(out['database-egress.yaml'], /^# Where the qa environment's PostgreSQL and Redis are/);
  const objects = render(out);
  assert.equal(egressOf(objects, 'spacetime-vr-postgresql'), [
    { ports: [{ port: 5432, protocol: 'TCP' }], to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgresql' } } }] },
  ]);
  assert.is(
    objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'spacetime-vr-redis')!.metadata.namespace,
    'spacetime-vr-qa',
  );
  // Storage as the Helm chart's default: a per-pod emptyDir, no ReadWriteMany claim.
  assert.not.ok(objects.some((o) => o.kind === 'PersistentVolumeClaim'));
  const volumes = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.volumes;
  assert.equal(
    volumes.find((v: { name: string }) => v.name === 'data'),
    { name: 'data', emptyDir: { sizeLimit: '512Mi' } },
  );
});

test('--postgresqlCidrs and --redisCidrs send the egress to the managed databases, and nowhere else', () => {
  const env = resolveNewEnvironment({
    name: 'qa',
    from: 'production',
    postgresqlCidrs: ['10.20.0.0/24', '10.20.1.0/24'],
    redisCidrs: '10.30.0.0/28, fd00:30::/64',
  });
  const out = deriveOverlay(overlayFiles('production'), env, 'overlays/production');
  const objects = render(out);
  assert.equal(egressOf(objects, 'spacetime-vr-postgresql'), [
    { ports: [{ port: 5432, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.20.0.0/24' } }, { ipBlock: { cidr: '10.20.1.0/24' } }] },
  ]);
  assert.equal(egressOf(objects, 'spacetime-vr-redis'), [
    { ports: [{ port: 6379, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.30.0.0/28' } }, { ipBlock: { cidr: 'fd00:30::/64' } }] },
  ]);
  // The policy of everything else is untouched: DNS and the mesh only.
  assert.equal(
    egressOf(objects, 'spacetime-vr').map((rule: { ports: Array<{ port: number }> }) => rule.ports.map((p) => p.port)),
    [
      [53, 53],
      [8080, 7777],
    ],
  );
  assert.match(out['database-egress.yaml'], /^# Where the qa environment's PostgreSQL/);
});

const badCidrs: Array<[string, Parameters<typeof resolveNewEnvironment>[0], RegExp]> = [
  [
    'an address without a prefix',
    { name: 'qa', from: 'staging', postgresqlCidrs: ['10.20.0.1'] },
    /--postgresqlCidrs: "10\.20\.0\.1" is not a CIDR/,
  ],
  [
    'a host name',
    { name: 'qa', from: 'staging', redisCidrs: 'redis.example.com/32' },
    /--redisCidrs: "redis\.example\.com\/32" is not a CIDR/,
  ],
  ['a prefix too long', { name: 'qa', from: 'staging', postgresqlCidrs: ['10.0.0.0/33'] }, /"10\.0\.0\.0\/33" has a prefix length over 32/],
  ['an IPv6 prefix too long', { name: 'qa', from: 'staging', redisCidrs: ['fd00::/129'] }, /has a prefix length over 128/],
  ['an empty list', { name: 'qa', from: 'staging', redisCidrs: ' , ' }, /--redisCidrs is empty/],
];
for (const [what, options, expected] of badCidrs) {
  test(`a CIDR option with ${what} is refused`, () => {
    assert.throws(() => resolveNewEnvironment(options), expected);
  });
}

test('CIDRs for an overlay that patches no database policy are refused, naming it', () => {
  const files = overlayFiles('staging');
  delete files['database-egress.yaml'];
  files['kustomization.yaml'] = files['kustomization.yaml'].replace(
    /\n {2}# Where this environment's[^\n]*\n[^\n]*\n {2}- path: database-egress\.yaml\n/,
    '\n',
  );
  const env = resolveNewEnvironment({ name: 'qa', from: 'staging', redisCidrs: ['10.30.0.0/28'] });
  assert.throws(
    () => deriveOverlay(files, env, 'overlays/staging'),
    /--redisCidrs: the staging overlay does not patch the NetworkPolicy spacetime-vr-redis/,
  );
});

test.run();
