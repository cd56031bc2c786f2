import { cpSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { envTemplateKeys } from '@spacetime/release-kit/src/format/env-template';
import { deriveEnvTemplate, deriveHost, deriveOverlay, resolveNewEnvironment } from '../lib/environment-scaffold';
import { appendToJsonArray } from '../lib/json-edit';
import { assertDnsLabel } from '../lib/scaffold-names';
import { sectionProjectJson, sectionReadme } from '../lib/section-scaffold';
import { cleanTempDirs, tempDir, tool } from '../../libs/release-kit/test/helpers';

const WORKSPACE = join(__dirname, '../..');
const CONFIG = join(WORKSPACE, 'libs/sections/config/src');
const KUBERNETES = join(WORKSPACE, 'libs/sections/kubernetes/src');
const template = (env: string) => readFileSync(join(CONFIG, env, '.env.template'), 'utf8');
const overlayFiles = (env: string) => {
  const dir = join(KUBERNETES, 'overlays', env);
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
};
const envValues = (text: string) =>
  Object.fromEntries(text.split('\n').flatMap((l) => (/^[A-Z]/.test(l) ? [l.split(/=(.*)/s).slice(0, 2)] : [])));

for (const good of ['qa', 'load-test', 'a', 'x1', '1x', 'a'.repeat(63)]) {
  test(`"${good}" is a DNS-1123 label`, () => assert.is(assertDnsLabel(good, 'name'), good));
}
for (const bad of ['QA', 'qa_1', '-qa', 'qa-', 'q.a', '', 'qä', 'a'.repeat(64), 'qa\n']) {
  test(`"${JSON.stringify(bad)}" is refused as a DNS-1123 label`, () => {
    assert.throws(() => assertDnsLabel(bad, 'the environment name'), /the environment name .*(DNS-1123|missing|63)/);
  });
}

test('new environment options: default namespace, refused replicas, namespace and self-derivation', () => {
  assert.equal(resolveNewEnvironment({ name: 'qa', from: 'staging' }), {
    name: 'qa',
    from: 'staging',
    namespace: 'spacetime-vr-qa',
    replicas: undefined,
  });
  assert.throws(() => resolveNewEnvironment({ name: 'qa', from: 'staging', replicas: 0 }), /--replicas=0 is not a whole number/);
  assert.throws(() => resolveNewEnvironment({ name: 'qa', from: 'staging', replicas: 1.5 }), /--replicas=1.5/);
  assert.throws(
    () => resolveNewEnvironment({ name: 'qa', from: 'staging', namespace: 'Bad_NS' }),
    /--namespace "Bad_NS" is not a DNS-1123 label/,
  );
  assert.throws(() => resolveNewEnvironment({ name: 'staging', from: 'staging' }), /cannot be derived from itself/);
  assert.throws(() => resolveNewEnvironment({ name: 'a'.repeat(51), from: 'staging' }), /--namespace .* longer than 63/);
});

test('hosts: the source environment label is replaced, else the name goes in front', () => {
  assert.is(deriveHost('play.staging.spacetime-vr.example.com', 'staging', 'qa'), 'play.qa.spacetime-vr.example.com');
  assert.is(deriveHost('spacetime-vr.example.com', 'production', 'qa'), 'qa.spacetime-vr.example.com');
});

for (const from of ['staging', 'production', 'development']) {
  test(`env template derived from ${from}: same keys as every environment, identity of the new one, placeholder secrets`, () => {
    const env = resolveNewEnvironment({ name: 'qa', from, namespace: 'qa-ns' });
    const derived = deriveEnvTemplate(template(from), env);
    for (const other of ['production', 'staging', 'development']) assert.equal(envTemplateKeys(derived), envTemplateKeys(template(other)));
    const values = envValues(derived);
    const source = envValues(template(from));
    assert.is(values.ENVIRONMENT, 'qa');
    assert.is(values.SPACETIME_ENV, 'qa');
    assert.is(values.KUBERNETES_NAMESPACE, 'qa-ns');
    assert.match(values.DATABASE_URL, /^postgresql:\/\/spacetime:<DATABASE_PASSWORD>@[^/]+\/spacetime_vr_qa\?/);
    for (const key of ['JWT_SECRET', 'API_KEY', 'GRAFANA_ADMIN_PASSWORD']) assert.match(values[key], /^<[A-Z0-9_]+>$/, key);
    for (const key of ['TICK_RATE', 'LOG_LEVEL', 'DATABASE_POOL_SIZE', 'REDIS_POOL_SIZE', 'IMAGE_TAG'])
      assert.is(values[key], source[key], key);
    assert.ok(derived.startsWith('# SpaceTime VR - QA environment template\n'), derived.slice(0, 80));
    assert.not.match(derived, /STAGING|Staging|PRODUCTION/);
  });
}

test('env template: real secrets in the source never reach the new template', () => {
  const source =
    '# x\nJWT_SECRET=hunter2hunter2\nAPI_KEY=abc\nDATABASE_URL=postgresql://u:s3cret@db:5432/app?x=1\nREDIS_URL=redis://:pw@r:6379/0\nTLS_KEY_PATH=/etc/key\n';
  const derived = deriveEnvTemplate(source, resolveNewEnvironment({ name: 'qa', from: 'staging' }));
  assert.is(
    derived,
    '# x\nJWT_SECRET=<JWT_SECRET>\nAPI_KEY=<API_KEY>\nDATABASE_URL=postgresql://u:<DATABASE_PASSWORD>@db:5432/spacetime_vr_qa?x=1\nREDIS_URL=redis://:<REDIS_PASSWORD>@r:6379/0\nTLS_KEY_PATH=/etc/key\n',
  );
});

test('overlay derived from staging: namespace, label, hosts, TLS secret, replicas, {{version}} tag; the rest copied', () => {
  const env = resolveNewEnvironment({ name: 'qa', from: 'staging', replicas: 5 });
  const source = overlayFiles('staging');
  const out = deriveOverlay(source, env, 'overlays/staging');
  assert.equal(Object.keys(out).sort(), Object.keys(source).sort());
  const k = parse(out['kustomization.yaml']);
  assert.is(k.namespace, 'spacetime-vr-qa');
  assert.equal(k.labels[0].pairs, { environment: 'qa' });
  assert.equal(k.images, [{ name: 'spacetime-vr', newTag: '{{version}}' }]);
  assert.equal(k.patches, parse(source['kustomization.yaml']).patches);
  assert.match(out['kustomization.yaml'], /^# QA overlay: kubectl apply -k kubernetes\/overlays\/qa\n/);
  assert.match(out['kustomization.yaml'], /newTag: "\{\{version\}\}"/);
  assert.is(parse(out['deployment-patch.yaml']).spec.replicas, 5);
  assert.equal(parse(out['deployment-patch.yaml']).spec.template, parse(source['deployment-patch.yaml']).spec.template);
  assert.equal(parse(out['hpa-patch.yaml']).spec, { minReplicas: 5, maxReplicas: 5 });
  assert.equal(
    parse(out['ingress-patch.yaml']).map((op: { value: string }) => op.value),
    ['qa.spacetime-vr.example.com', 'spacetime-vr-qa-tls', 'qa.spacetime-vr.example.com', 'letsencrypt-staging'],
  );
  assert.is(parse(out['configmap-patch.yaml']).data.ENVIRONMENT, 'qa');
  assert.is(out['database-egress.yaml'], source['database-egress.yaml'].split('staging').join('qa'));
  for (const text of Object.values(out)) assert.not.match(text, /(?<!letsencrypt-)staging|Staging/);
});

test('overlay without --replicas keeps the source replicas; a missing kustomization is refused', () => {
  const out = deriveOverlay(overlayFiles('production'), resolveNewEnvironment({ name: 'perf', from: 'production' }), 'overlays/production');
  assert.is(parse(out['deployment-patch.yaml']).spec.replicas, 6);
  assert.equal(parse(out['hpa-patch.yaml']).spec, { minReplicas: 6, maxReplicas: 24 });
  assert.throws(
    () => deriveOverlay({}, resolveNewEnvironment({ name: 'qa', from: 'development' }), 'overlays/development'),
    /overlays\/development: the development environment has no kustomization.yaml to copy/,
  );
});

test('kubectl kustomize renders the derived overlay (after substituting {{version}})', () => {
  const root = join(tempDir('kustomize'), 'kubernetes');
  cpSync(KUBERNETES, root, { recursive: true });
  const out = deriveOverlay(
    overlayFiles('staging'),
    resolveNewEnvironment({ name: 'qa', from: 'staging', replicas: 3 }),
    'overlays/staging',
  );
  mkdirSync(join(root, 'overlays/qa'));
  for (const [file, text] of Object.entries(out)) writeFileSync(join(root, 'overlays/qa', file), text);
  for (const dir of ['base', 'overlays/qa']) {
    const file = join(root, dir, 'kustomization.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').split('{{version}}').join('2.6.0'));
  }
  const rendered = tool('kubectl', ['kustomize', join(root, 'overlays/qa')]);
  assert.match(rendered, /\n {2}name: spacetime-vr-qa\n/);
  assert.match(rendered, /image: spacetime-vr:2\.6\.0\n/);
  assert.match(rendered, /\n {2}replicas: 3\n/);
  assert.match(rendered, /host: qa\.spacetime-vr\.example\.com/);
  assert.not.match(rendered, /namespace: spacetime-vr-staging|environment: staging/);
});

test('appendToJsonArray keeps the hand-written formatting and is idempotent', () => {
  const config = '{\n  "sections": ["a", "b"],\n  "environments": ["production", "staging"],\n  "x": { "y": [1] }\n}\n';
  const once = appendToJsonArray(config, 'environments', 'qa', 'c.json');
  assert.is(once, '{\n  "sections": ["a", "b"],\n  "environments": ["production", "staging", "qa"],\n  "x": { "y": [1] }\n}\n');
  assert.is(appendToJsonArray(once, 'environments', 'qa', 'c.json'), once);
  const multi = '{\n  "implicitDependencies": [\n    "a",\n    "b"\n  ],\n  "n": 1\n}\n';
  assert.is(
    appendToJsonArray(multi, 'implicitDependencies', 'c', 'p.json'),
    '{\n  "implicitDependencies": [\n    "a",\n    "b",\n    "c"\n  ],\n  "n": 1\n}\n',
  );
  assert.is(
    appendToJsonArray('{"n": 1}', 'implicitDependencies', 'c', 'p.json'),
    '{\n  "n": 1,\n  "implicitDependencies": [\n    "c"\n  ]\n}\n',
  );
  assert.throws(() => appendToJsonArray('{"sections": [\n', 'sections', 'c', 'c.json'), /c\.json:\d+: invalid JSON/);
  assert.throws(() => appendToJsonArray('{"sections": "a"}', 'sections', 'c', 'c.json'), /"sections" is not an array of strings/);
});

test('section project: package and validation targets, a README', () => {
  assert.equal(JSON.parse(sectionProjectJson('licenses')), {
    name: 'licenses',
    $schema: '../../../node_modules/nx/schemas/project-schema.json',
    projectType: 'library',
    implicitDependencies: ['executors'],
    tags: ['section'],
    targets: { package: { options: { sources: [{ from: 'src', to: '.' }] } }, validate: {}, 'validate-release': {} },
  });
  assert.match(sectionReadme('licenses'), /^# Licenses\n/);
  assert.throws(() => sectionProjectJson('Licenses'), /not a DNS-1123 label/);
});

test.after(cleanTempDirs);
test.run();
