import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { cidrProblem } from '../src/validation/kubernetes';
import { cleanTempDirs, tempDir, tool } from './helpers';
import { copySection, edit, errors, lineOf, packAndValidate, show } from './validation-helpers';

// Storage and egress that work on common clusters: the data volume is a per-pod emptyDir unless an
// overlay opts into the ReadWriteOnce claim of kubernetes/components/persistent-data, and each
// overlay says where its databases are (database-egress.yaml), CIDRs included. Checked with the
// real kubectl kustomize and helm, through the kubernetes validation.

test.after(cleanTempDirs);

const WORKSPACE = join(__dirname, '..', '..', '..');
const SRC = join(WORKSPACE, 'libs/sections/kubernetes/src');
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Record<string, any>);

/** The kubernetes sources in a scratch folder, {{version}} filled in, so kubectl and helm read them as shipped. */
function scratch(): string {
  const root = join(tempDir('k8s-sources'), 'kubernetes');
  cpSync(SRC, root, { recursive: true });
  for (const file of [
    'base/kustomization.yaml',
    'overlays/production/kustomization.yaml',
    'overlays/staging/kustomization.yaml',
    'helm/spacetime-vr/Chart.yaml',
  ])
    writeFileSync(join(root, file), readFileSync(join(root, file), 'utf8').split('{{version}}').join('2.5.0'));
  return root;
}

test('no overlay asks for a ReadWriteMany volume; the optional component claims ReadWriteOnce', () => {
  const root = scratch();
  for (const overlay of ['production', 'staging']) {
    const objects = docs(tool('kubectl', ['kustomize', join(root, 'overlays', overlay)]));
    assert.not.ok(
      objects.some((o) => o.kind === 'PersistentVolumeClaim'),
      overlay,
    );
    const data = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data');
    assert.equal(data, { name: 'data', emptyDir: { sizeLimit: '512Mi' } }, overlay);
  }
  // An overlay that opts in.
  writeFileSync(
    join(root, 'overlays/staging/kustomization.yaml'),
    `${readFileSync(join(root, 'overlays/staging/kustomization.yaml'), 'utf8')}\ncomponents:\n  - ../../components/persistent-data\n`,
  );
  const objects = docs(tool('kubectl', ['kustomize', join(root, 'overlays/staging')]));
  const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim')!;
  assert.equal(claim.spec.accessModes, ['ReadWriteOnce']);
  assert.is(claim.metadata.namespace, 'spacetime-vr-staging');
  const data = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data');
  assert.equal(data, { name: 'data', persistentVolumeClaim: { claimName: 'spacetime-vr-data' } });
});

test('the Helm chart agrees: persistence off by default, ReadWriteOnce when enabled', () => {
  const chart = join(scratch(), 'helm/spacetime-vr');
  const plain = docs(tool('helm', ['template', 'st', chart]));
  assert.not.ok(plain.some((o) => o?.kind === 'PersistentVolumeClaim'));
  const enabled = docs(tool('helm', ['template', 'st', chart, '--set', 'persistence.enabled=true']));
  assert.equal(enabled.find((o) => o?.kind === 'PersistentVolumeClaim')!.spec.accessModes, ['ReadWriteOnce']);
  const cidrs = docs(tool('helm', ['template', 'st', chart, '--set', 'networkPolicy.postgresql.cidrs={10.20.0.0/24}']));
  const egress = cidrs.find((o) => o?.kind === 'NetworkPolicy')!.spec.egress;
  assert.equal(egress[0].to, [{ ipBlock: { cidr: '10.20.0.0/24' } }]);
});

test('the validation renders each component on top of production and applies the policies to it', async () => {
  const { root, src } = copySection('kubernetes');
  const report = await packAndValidate('kubernetes', root);
  assert.equal(errors(report), [], show(report.findings));
  assert.ok(report.checks.includes('kubernetes policies (production with components/persistent-data)'), report.checks.join('; '));
  const patch = join(src, 'src/components/persistent-data/deployment-patch.yaml');
  edit(
    patch,
    '      volumes:\n',
    '      containers:\n        - name: spacetime-vr\n' +
      '          securityContext:\n            readOnlyRootFilesystem: false\n      volumes:\n',
  );
  const broken = errors(await packAndValidate('kubernetes', root));
  assert.ok(
    broken.some(
      (f) =>
        f.rule === 'k8s/read-only-root-filesystem' &&
        f.file === 'kubernetes/components/persistent-data/deployment-patch.yaml' &&
        f.line === lineOf(patch, 'readOnlyRootFilesystem: false') &&
        /\(production with components\/persistent-data\)/.test(f.message),
    ),
    show(broken),
  );
});

test('a database CIDR that is not one fails at its line in the overlay, once', async () => {
  const { root, src } = copySection('kubernetes');
  const egress = join(src, 'src/overlays/staging/database-egress.yaml');
  edit(
    egress,
    '        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: redis\n',
    '        - ipBlock:\n            cidr: 10.30.0.0/40\n            except:\n              - 10.30.0.1\n',
  );
  const found = errors(await packAndValidate('kubernetes', root)).filter((f) => f.rule === 'k8s/cidr');
  assert.equal(
    found.map((f) => [f.file, f.line, f.message]),
    [
      [
        'kubernetes/overlays/staging/database-egress.yaml',
        lineOf(egress, 'cidr: 10.30.0.0/40'),
        'NetworkPolicy spacetime-vr-redis: ipBlock.cidr "10.30.0.0/40" has a prefix length over 32',
      ],
      [
        'kubernetes/overlays/staging/database-egress.yaml',
        lineOf(egress, '- 10.30.0.1'),
        'NetworkPolicy spacetime-vr-redis: ipBlock.except "10.30.0.1" is not a CIDR ' +
          '(an IPv4 or IPv6 address, "/" and a prefix length, e.g. 10.20.0.0/24)',
      ],
    ],
    show(found),
  );
});

test('cidrProblem accepts IPv4 and IPv6 CIDRs and names what is wrong with the rest', () => {
  for (const good of ['10.0.0.0/8', '0.0.0.0/0', '192.168.1.7/32', 'fd00::/8', '2001:db8::/128'])
    assert.is(cidrProblem(good), undefined, good);
  for (const bad of ['10.0.0.0', '10.0.0.0/', '/24', '10.0.0/24', 'db.internal/24', '10.0.0.0/24/1', ' 10.0.0.0/24', '', undefined, 24])
    assert.ok(cidrProblem(bad), String(bad));
});

test.run();
