import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, copyWorkspace, git, nx, tempDir } from './workspace';

let ws = '';
let env: NodeJS.ProcessEnv = {};
let release = '';
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
let goodArchive = '';

test.before(() => {
  ws = copyWorkspace('bad-input');
  env = { XDG_CONFIG_HOME: tempDir('signing-keys') };
  release = join(ws, 'dist/release');
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  goodArchive = sha(join(release, 'spacetime-vr-v2.5.0.tar.gz'));
});

// `unverifiable`: the break also stops release:verify from reading the package (it reads VERSION and the config too).
const cases: Array<{ name: string; breakIt: () => void; expected: RegExp; unverifiable?: boolean }> = [
  {
    name: 'a VERSION that is not semver',
    breakIt: () => writeFileSync(join(ws, 'VERSION'), '2.5\n'),
    expected: /VERSION:1: "2\.5" is not a semantic version/,
    unverifiable: true,
  },
  {
    name: 'broken YAML in the OpenAPI source',
    breakIt: () => writeFileSync(join(ws, 'libs/sections/docs/openapi/spacetime-api.yaml'), 'openapi: 3.0.3\ninfo:\n  title: [unclosed\npaths: {}\n'),
    expected: /libs\/sections\/docs\/openapi\/spacetime-api\.yaml:\d+: invalid YAML/,
  },
  {
    name: 'broken JSON in the release config',
    breakIt: () => writeFileSync(join(ws, 'libs/release/release.config.json'), '{\n  "sections": [\n}\n'),
    expected: /libs\/release\/release\.config\.json:3: invalid JSON/,
    unverifiable: true,
  },
  {
    name: 'a section whose sources are missing',
    breakIt: () => rmSync(join(ws, 'libs/sections/tests/src'), { recursive: true }),
    expected: /libs\/sections\/tests\/src: the section source folder is missing/,
  },
  {
    name: 'a symlink that leaves the workspace',
    breakIt: () => symlinkSync('/etc/hostname', join(ws, 'libs/sections/config/src/production/hostname')),
    expected: /libs\/sections\/config\/src\/production\/hostname: is a symlink that leaves the workspace/,
  },
  {
    name: 'a file name that cannot be archived safely',
    breakIt: () => writeFileSync(join(ws, 'libs/sections/security/src/policies/new\nline.md'), 'x'),
    expected: /libs\/sections\/security\/src\/policies\/new\nline\.md: cannot be archived safely/,
  },
  {
    name: 'an unknown executor option',
    breakIt: () => {
      const file = join(ws, 'libs/sections/monitoring/project.json');
      const project = JSON.parse(readFileSync(file, 'utf8'));
      project.targets.package.options.compressionLevel = 9;
      writeFileSync(file, JSON.stringify(project, null, 2));
    },
    expected: /compressionLevel/,
  },
];

for (const { name, breakIt, expected, unverifiable } of cases) {
  test(`${name}: a clear error, and the previous package is kept whole`, () => {
    breakIt();
    try {
      const run = nx(ws, ['run', 'release:assemble'], env);
      assert.is.not(run.status, 0, run.output);
      assert.match(run.output, expected);
      assert.is(sha(join(release, 'spacetime-vr-v2.5.0.tar.gz')), goodArchive, 'the archive at the final path changed');
      assert.equal(readdirSync(release).filter((n) => n.startsWith('.partial-')), [], 'partial files left behind');
      assert.equal(readdirSync(join(ws, 'dist/sections')).filter((n) => n.startsWith('.partial-')), [], 'partial section outputs left behind');
      if (!unverifiable) {
        const verify = nx(ws, ['run', 'release:verify'], env);
        assert.is(verify.status, 0, verify.output);
      }
    } finally {
      git(ws, 'checkout', '-q', '--', '.');
      git(ws, 'clean', '-qfd', 'libs', 'VERSION');
    }
  });
}

test.after(cleanUp);
test.run();
