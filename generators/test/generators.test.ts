import { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import environmentGenerator from '../environment/generator';
import sectionGenerator from '../section/generator';
import versionGenerator from '../version/generator';
import type { VersionHistory } from '@spacetime/release-kit/src/versioning/version-plan';

const WORKSPACE = join(__dirname, '../..');
const FIXTURES = [
  'VERSION',
  'libs/release/release.config.json',
  'libs/release/project.json',
  'libs/release/templates/RELEASE_NOTES.source.md',
  'libs/sections/config/src',
  'libs/sections/config/project.json',
  'libs/sections/kubernetes/src/overlays',
  'libs/sections/kubernetes/project.json',
];

/** An empty Nx workspace holding copies of the real files the generators read. */
function workspaceTree(): Tree {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  const copy = (path: string) => {
    const abs = join(WORKSPACE, path);
    if (statSync(abs).isDirectory()) for (const child of readdirSync(abs)) copy(join(path, child));
    else tree.write(path, readFileSync(abs));
  };
  for (const path of FIXTURES) copy(path);
  return tree;
}

/** Every file of the tree with its content, to prove a failed run changed nothing. */
function snapshot(tree: Tree, dir = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const child of tree.children(dir)) {
    const path = dir ? `${dir}/${child}` : child;
    if (tree.isFile(path)) out[path] = tree.read(path, 'utf-8')!;
    else Object.assign(out, snapshot(tree, path));
  }
  return out;
}

const config = (tree: Tree) => JSON.parse(tree.read('libs/release/release.config.json', 'utf-8')!);
const keys = (text: string) =>
  text
    .split('\n')
    .filter((l) => /^[A-Z]/.test(l))
    .map((l) => l.split('=')[0]);

test('environment: template, overlay and release config entry in one step', async () => {
  const tree = workspaceTree();
  const configBefore = tree.read('libs/release/release.config.json', 'utf-8')!;
  await environmentGenerator(tree, { name: 'qa' });
  const template = tree.read('libs/sections/config/src/qa/.env.template', 'utf-8')!;
  assert.equal(keys(template), keys(tree.read('libs/sections/config/src/staging/.env.template', 'utf-8')!));
  assert.match(template, /\nENVIRONMENT=qa\n/);
  assert.match(template, /\nKUBERNETES_NAMESPACE=spacetime-vr-qa\n/);
  assert.match(template, /\nJWT_SECRET=<GENERATE_32_CHAR_SECRET>\n/);
  assert.equal(
    tree.children('libs/sections/kubernetes/src/overlays/qa').sort(),
    tree.children('libs/sections/kubernetes/src/overlays/staging').sort(),
  );
  const kustomization = parse(tree.read('libs/sections/kubernetes/src/overlays/qa/kustomization.yaml', 'utf-8')!);
  assert.is(kustomization.namespace, 'spacetime-vr-qa');
  assert.equal(kustomization.images, [{ name: 'spacetime-vr', newTag: '{{version}}' }]);
  assert.is(parse(tree.read('libs/sections/kubernetes/src/overlays/qa/deployment-patch.yaml', 'utf-8')!).spec.replicas, 2);
  // Exactly one line of the hand-written release config changes.
  assert.is(
    tree.read('libs/release/release.config.json', 'utf-8'),
    configBefore.replace(
      '"environments": ["production", "staging", "development"]',
      '"environments": ["production", "staging", "development", "qa"]',
    ),
  );
});

test('environment: --from, --replicas and --namespace', async () => {
  const tree = workspaceTree();
  await environmentGenerator(tree, { name: 'perf', from: 'production', replicas: 12, namespace: 'perf-lab' });
  const k = parse(tree.read('libs/sections/kubernetes/src/overlays/perf/kustomization.yaml', 'utf-8')!);
  assert.is(k.namespace, 'perf-lab');
  assert.equal(k.labels[0].pairs, { environment: 'perf' });
  assert.is(parse(tree.read('libs/sections/kubernetes/src/overlays/perf/deployment-patch.yaml', 'utf-8')!).spec.replicas, 12);
  assert.equal(parse(tree.read('libs/sections/kubernetes/src/overlays/perf/hpa-patch.yaml', 'utf-8')!).spec, {
    minReplicas: 12,
    maxReplicas: 24,
  });
  const template = tree.read('libs/sections/config/src/perf/.env.template', 'utf-8')!;
  assert.match(template, /\nKUBERNETES_NAMESPACE=perf-lab\n/);
  assert.match(template, /\nMAX_PLAYERS_PER_SHARD=64\n/, 'production values are copied');
  assert.equal(config(tree).environments, ['production', 'staging', 'development', 'perf']);
});

const badEnvironments: Array<[string, Parameters<typeof environmentGenerator>[1], RegExp]> = [
  ['a name that is not a DNS-1123 label', { name: 'QA_1' }, /the environment name "QA_1" is not a DNS-1123 label/],
  [
    'an environment that already exists',
    { name: 'staging' },
    /the environment "staging" already exists \("staging" in libs\/release\/release.config.json environments, libs\/sections\/config\/src\/staging\/, libs\/sections\/kubernetes\/src\/overlays\/staging\/\)/,
  ],
  ['an environment listed in the config only', { name: 'development' }, /the environment "development" already exists/],
  [
    'an unknown --from',
    { name: 'qa', from: 'prod' },
    /--from=prod: unknown environment\n {2}hint: copy one of: production, staging, development/,
  ],
  [
    'a --from without an overlay',
    { name: 'qa', from: 'development' },
    /--from=development: the environment has no Kubernetes overlay to copy .*\n {2}hint: copy one of: production, staging/,
  ],
  ['a bad --namespace', { name: 'qa', namespace: 'QA' }, /--namespace "QA" is not a DNS-1123 label/],
  ['a bad --replicas', { name: 'qa', replicas: 0 }, /--replicas=0/],
  ['--namespace=kube-system', { name: 'qa', namespace: 'kube-system' }, /--namespace=kube-system: a Kubernetes system namespace/],
  ['--namespace=kube-public', { name: 'qa', namespace: 'kube-public' }, /--namespace=kube-public: a Kubernetes system namespace/],
  ['--namespace=kube-node-lease', { name: 'qa', namespace: 'kube-node-lease' }, /a Kubernetes system namespace/],
  ['--namespace=default', { name: 'qa', namespace: 'default' }, /--namespace=default: a Kubernetes system namespace/],
  [
    "another environment's namespace",
    { name: 'qa', namespace: 'spacetime-vr-staging' },
    /overlays\/staging\/kustomization.yaml: --namespace=spacetime-vr-staging: the staging environment deploys into it already/,
  ],
  ["production's namespace", { name: 'qa', namespace: 'spacetime-vr' }, /the production environment deploys into it already/],
];
for (const [what, options, expected] of badEnvironments) {
  test(`environment: ${what} is refused and the tree is untouched`, async () => {
    const tree = workspaceTree();
    const before = snapshot(tree);
    try {
      await environmentGenerator(tree, options);
      assert.unreachable('the generator accepted it');
    } catch (e) {
      assert.instance(e, Error);
      assert.match((e as Error).message, expected);
    }
    assert.equal(snapshot(tree), before);
  });
}

test('environment: --force overwrites, replaces stale overlay files, and lists the environment once', async () => {
  const tree = workspaceTree();
  await environmentGenerator(tree, { name: 'qa' });
  tree.write('libs/sections/kubernetes/src/overlays/qa/stale.yaml', 'x: 1\n');
  await environmentGenerator(tree, { name: 'qa', from: 'production', force: true });
  assert.not.ok(tree.exists('libs/sections/kubernetes/src/overlays/qa/stale.yaml'));
  assert.is(parse(tree.read('libs/sections/kubernetes/src/overlays/qa/deployment-patch.yaml', 'utf-8')!).spec.replicas, 6);
  assert.equal(config(tree).environments, ['production', 'staging', 'development', 'qa']);
});

test('section: project with package and validation targets, README, section order and implicit dependencies', async () => {
  const tree = workspaceTree();
  await sectionGenerator(tree, { name: 'licenses' });
  assert.equal(JSON.parse(tree.read('libs/sections/licenses/project.json', 'utf-8')!).targets, {
    package: { options: { sources: [{ from: 'src', to: '.' }] } },
    validate: {},
    'validate-release': {},
  });
  assert.match(tree.read('libs/sections/licenses/src/README.md', 'utf-8')!, /^# Licenses\n/);
  assert.is(config(tree).sections.at(-1), 'licenses');
  const release = tree.read('libs/release/project.json', 'utf-8')!;
  assert.is(JSON.parse(release).implicitDependencies.at(-1), 'licenses');
  assert.match(release, /"implicitDependencies": \["binaries", .*, "licenses"\],\n/, 'the one-line array stays one line');
});

for (const [what, name, expected] of [
  ['a bad name', 'Licenses', /the section name "Licenses" is not a DNS-1123 label/],
  ['an existing section', 'config', /the section "config" already exists/],
  ['an existing project name', 'release', /a project named "release" already exists \(libs\/release\)/],
] as const) {
  test(`section: ${what} is refused and the tree is untouched`, async () => {
    const tree = workspaceTree();
    const before = snapshot(tree);
    try {
      await sectionGenerator(tree, { name });
      assert.unreachable('the generator accepted it');
    } catch (e) {
      assert.match((e as Error).message, expected);
    }
    assert.equal(snapshot(tree), before);
  });
}

const history = (over: Partial<VersionHistory> = {}): VersionHistory => ({
  dirty: [],
  lastTag: 'v2.5.0',
  tagExists: () => false,
  commits: [
    { hash: 'a1', subject: 'feat(vr): foveated rendering hints', body: '' },
    { hash: 'a2', subject: 'perf(tick): halve allocations', body: '' },
    { hash: 'a3', subject: 'fix: reconnect storm', body: 'BREAKING CHANGE: clients must send a session id' },
  ],
  ...over,
});

test('version: VERSION and the release notes source, from the commits', async () => {
  const tree = workspaceTree();
  await versionGenerator(tree, { bump: 'major', title: 'Foveation' }, history());
  assert.is(tree.read('VERSION', 'utf-8'), '3.0.0\n');
  const notes = tree.read('libs/release/templates/RELEASE_NOTES.source.md', 'utf-8')!;
  assert.ok(
    notes.startsWith('# SpaceTime VR {{version}}: Foveation\n\n**Release:** {{version}}\n**Type:** major release (breaking changes)\n'),
    notes.slice(0, 200),
  );
  assert.match(
    notes,
    /## Breaking Changes\n\n- reconnect storm: clients must send a session id \(a3\)\n\n## New Features\n\n- \*\*vr:\*\* foveated rendering hints \(a1\)\n\n## Performance\n\n- \*\*tick:\*\* halve allocations \(a2\)\n/,
  );
  assert.match(tree.read('CHANGELOG.md', 'utf-8')!, /\n## \[3\.0\.0\] - \d{4}-\d\d-\d\d\n\n### Breaking Changes\n\n- reconnect storm: /);
  assert.match(notes, /## Verifying This Release\n\n```bash\ngpg --import release-signing-key.asc/);
  await versionGenerator(tree, { bump: 'prerelease', preid: 'rc', title: 'RC' }, history());
  assert.is(tree.read('VERSION', 'utf-8'), '3.0.1-rc.0\n');
});

for (const [what, options, over, expected] of [
  ['a dirty tree', { bump: 'minor', title: 'x' }, { dirty: [' M VERSION'] }, /the git working tree is not clean/],
  ['an existing tag', { bump: 'minor', title: 'x' }, { tagExists: (t: string) => t === 'v2.6.0' }, /the tag v2\.6\.0 already exists/],
  [
    'a version that is not greater',
    { to: '2.4.0', title: 'x' },
    {},
    /the new version 2\.4\.0 is not greater than the current version 2\.5\.0/,
  ],
  ['a missing title', { bump: 'minor', title: '' }, {}, /--title is missing/],
] as const) {
  test(`version: ${what} is refused and the tree is untouched`, async () => {
    const tree = workspaceTree();
    const before = snapshot(tree);
    try {
      await versionGenerator(tree, options as never, history(over as Partial<VersionHistory>));
      assert.unreachable('the generator accepted it');
    } catch (e) {
      assert.match((e as Error).message, expected);
    }
    assert.equal(snapshot(tree), before);
  });
}

test('generators.json registers every generator with a description, and the schemas match', () => {
  const plugin = JSON.parse(readFileSync(join(WORKSPACE, 'generators/generators.json'), 'utf8')).generators;
  assert.equal(Object.keys(plugin).sort(), ['environment', 'section', 'version']);
  for (const [name, entry] of Object.entries<{ factory: string; schema: string; description: string }>(plugin)) {
    assert.ok(entry.description.length > 20, name);
    const schema = JSON.parse(readFileSync(join(WORKSPACE, 'generators', entry.schema), 'utf8'));
    assert.is(schema.additionalProperties, false, name);
    assert.ok(statSync(join(WORKSPACE, 'generators', `${entry.factory}.ts`)).isFile(), relative(WORKSPACE, entry.factory));
  }
});

test.run();
