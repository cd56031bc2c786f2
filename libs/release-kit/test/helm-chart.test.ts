// The Helm chart archive publish builds holds what `helm package` would put in it: the chart's
// .helmignore read as Helm reads it (compared here with the real helm), and no secret.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { helmIgnores, packageHelmChart, parseHelmIgnore } from '../src/publish/helm-chart';
import { cleanTempDirs, tempDir, tool, toolStatus, writeTree } from './helpers';

const VERSION = '0.1.0';
const FILES = [
  'Chart.yaml',
  'values.yaml',
  'values-local.yaml',
  'values.secret.yaml',
  'README.md',
  'templates/deployment.yaml',
  'templates/.hidden',
  'templates/sub/.hidden',
  'templates/notes.tmp',
  'templates/deployment.yaml.bak',
  'keep/b.tmp',
  'tmp/scratch.yaml',
  'docs/tmp/draft.md',
  'docs/guide.md',
  'docs/[x].md',
  'ci/values.yaml',
  'a.tmp',
];

/** A chart folder with FILES and the given .helmignore. */
function chart(helmignore: string): string {
  const dir = join(tempDir('chart'), 'demo');
  writeTree(
    dir,
    Object.fromEntries(FILES.map((f) => [f, f === 'Chart.yaml' ? 'apiVersion: v2\nname: demo\nversion: 0.0.1\n' : `# ${f}\n`])),
  );
  writeFileSync(join(dir, '.helmignore'), helmignore);
  return dir;
}

/** The files of a chart archive, without the chart folder. */
const entries = (tgz: string, cwd: string) =>
  tool('tar', ['-tzf', tgz], cwd)
    .split('\n')
    .filter((p) => p && !p.endsWith('/'))
    .map((p) => p.slice('demo/'.length))
    .sort();

/** `helm package` and our builder on the same chart: both files lists, or both errors. */
function both(helmignore: string): { helm: string[] | string; ours: string[] | string } {
  const dir = chart(helmignore);
  const out = tempDir('charts');
  const helm = toolStatus('helm', ['package', dir, '--version', VERSION, '--destination', out]);
  let ours: string[] | string;
  try {
    const built = packageHelmChart({ chartDir: dir, version: VERSION, mtime: 315532800 });
    writeFileSync(join(out, `ours-${built.fileName}`), built.bytes);
    ours = entries(`ours-${built.fileName}`, out);
  } catch (e) {
    ours = (e as Error).message;
  }
  return { helm: helm.status === 0 ? entries(`demo-${VERSION}.tgz`, out) : helm.output.trim(), ours };
}

const IGNORES: Record<string, string> = {
  'files, globs, folders, anchors and comments': [
    '# Local value overrides that may hold secrets',
    'values-local.yaml',
    '*.secret.yaml   ',
    '*.tmp',
    'tmp/',
    '/docs/guide.md',
    'templates/*.bak\r',
    '',
    '  # an indented comment',
    'docs/\\[x].md',
    'ci/',
  ].join('\n'),
  'a negation, which Helm reads as "keep only what matches"': 'values-local.yaml\n*.tmp\ntmp/\n!*.yaml\n',
  'classes, ranges and ? in names': 'values-[a-l]*.yaml\n[!R]EADME.md\nvalues.???????.yaml\n[^dt]*.tmp\n',
  'no .helmignore rule, only Helm default (dot files in templates/)': '',
};

for (const [name, helmignore] of Object.entries(IGNORES)) {
  test(`.helmignore with ${name}: the same files as helm package`, () => {
    const { helm, ours } = both(helmignore);
    assert.ok(Array.isArray(helm), `helm package failed: ${helm}`);
    assert.equal(ours, helm);
  });
}

test('a .helmignore that excludes Chart.yaml, or that Helm cannot read, fails as helm package fails', () => {
  for (const [helmignore, ourError, helmError] of [
    ['*.tmp\n!keep.tmp\n', /excludes Chart\.yaml/, /Chart\.yaml file is missing/],
    ['values-local.yaml\n!templates/\n', /excludes Chart\.yaml/, /Chart\.yaml file is missing/],
    ['*.tmp\ndocs/**\n', /\.helmignore:2: double-star \(\*\*\) syntax is not supported/, /double-star/],
    ['*.tmp\n[z-\n', /\.helmignore:2: "\[z-" is not a valid pattern/, /syntax error in pattern/],
  ] as const) {
    const { helm, ours } = both(helmignore);
    assert.type(helm, 'string', helmignore);
    assert.match(helm as string, helmError);
    assert.type(ours, 'string', helmignore);
    assert.match(ours as string, ourError);
  }
});

test('the files that ship are the ones the base-name and path rules keep', () => {
  const rules = parseHelmIgnore('tmp/\n*.log\nci/*.yaml\n/top.txt\n', '.helmignore');
  const ignored = (path: string, dir = false) => helmIgnores(rules, path, dir);
  assert.ok(ignored('tmp', true) && ignored('docs/tmp', true) && !ignored('tmp', false));
  assert.ok(ignored('a/b/debug.log') && ignored('ci/values.yaml') && !ignored('x/ci/values.yaml'));
  assert.ok(ignored('top.txt') && !ignored('docs/top.txt'));
  assert.ok(ignored('templates/.gitkeep') && !ignored('templates/sub/.gitkeep') && !ignored('.helmignore'));
});

test('a secret in a file the chart ships fails the build, naming the file inside the chart; an ignored one is left out', () => {
  const aws = ['AKIA', 'QX7ZP3K9W2RT5YB4'].join('');
  const dir = chart('values-local.yaml\n');
  writeFileSync(join(dir, 'values-local.yaml'), `aws:\n  accessKeyId: ${aws}\n`);
  const built = packageHelmChart({ chartDir: dir, version: VERSION, mtime: 315532800 });
  assert.not.ok(built.bytes.includes(Buffer.from('values-local')), 'the ignored file is in the chart');
  writeFileSync(join(dir, 'values-prod.yaml'), `aws:\n  accessKeyId: ${aws}\n`);
  assert.throws(
    () => packageHelmChart({ chartDir: dir, version: VERSION, mtime: 315532800 }),
    (e: Error) =>
      /^demo\/values-prod\.yaml:2: looks like an AWS access key id \(value not shown\): the Helm chart demo-0\.1\.0\.tgz would ship it/.test(
        e.message,
      ) && !e.message.includes(aws),
  );
});

test.after(cleanTempDirs);
test.run();
