import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, commitAll, copyWorkspace, git, nx, Run, sh, tempDir } from './workspace';

// Real `nx g` and `nx run` in a temporary git copy of the workspace: bad input first (each must
// fail with a clear message and leave `git status` clean), then the generators and an assembly
// that carries what they made (workspace-tests/version.test.ts runs release:version).

let ws = '';
const PACKAGE = 'dist/release/spacetime-vr-v2.5.0';
const status = () => git(ws, 'status', '--porcelain', '--untracked-files=all');
const failsCleanly = (run: Run, expected: RegExp) => {
  assert.is.not(run.status, 0, run.output);
  assert.match(run.output, expected);
  assert.not.match(run.output, /\n\s+at \S+ \(/, 'a stack trace instead of a clear message');
  assert.is(status(), '', 'the failed command changed the working tree');
};

test.before(() => {
  ws = copyWorkspace('generators');
});

test('bad input fails cleanly and leaves git status clean', () => {
  failsCleanly(nx(ws, ['g', '@spacetime/generators:environment', 'QA_1']), /the environment name "QA_1" is not a DNS-1123 label/);
  failsCleanly(nx(ws, ['g', '@spacetime/generators:environment', 'staging']), /the environment "staging" already exists/);
  failsCleanly(
    nx(ws, ['g', '@spacetime/generators:environment', 'qa', '--from=prod']),
    /--from=prod: unknown environment\n\s+hint: copy one of: production, staging, development/,
  );
  failsCleanly(nx(ws, ['g', '@spacetime/generators:section', 'config']), /the section "config" already exists/);
});

test('--dry-run shows the changes and writes nothing', () => {
  const run = nx(ws, ['g', '@spacetime/generators:environment', 'qa', '--dry-run']);
  assert.is(run.status, 0, run.output);
  assert.match(run.output, /CREATE libs\/sections\/kubernetes\/src\/overlays\/qa\/kustomization\.yaml/);
  assert.match(run.output, /UPDATE libs\/release\/release\.config\.json/);
  assert.is(status(), '');
});

test('environment and section generators, then kubectl kustomize and release:assemble carry them', () => {
  const env = nx(ws, ['g', '@spacetime/generators:environment', 'qa', '--replicas=3']);
  assert.is(env.status, 0, env.output);
  const section = nx(ws, ['g', '@spacetime/generators:section', 'licenses']);
  assert.is(section.status, 0, section.output);
  writeFileSync(join(ws, 'libs/sections/licenses/src/THIRD_PARTY.md'), '# Third-party licenses\n');
  const config = JSON.parse(readFileSync(join(ws, 'libs/release/release.config.json'), 'utf8'));
  assert.is(config.environments.at(-1), 'qa');
  assert.is(config.sections.at(-1), 'licenses');
  commitAll(ws, 'Add the qa environment and the licenses section');

  // The development build skips what has no engine; the Docker image is not what this test is
  // about (workspace-tests/binaries.test.ts builds it), so it gets no engine and is skipped fast.
  const assemble = nx(ws, ['run', 'release:assemble'], {
    XDG_CONFIG_HOME: tempDir('signing-keys'),
    DOCKER_HOST: 'unix:///nonexistent/docker.sock',
  });
  assert.is(assemble.status, 0, assemble.output);
  const pkg = join(ws, PACKAGE);
  assert.ok(existsSync(join(pkg, 'config/qa/.env.template')), 'config/qa/ missing from the package');
  assert.ok(existsSync(join(pkg, 'licenses/README.md')), 'licenses/ missing from the package');
  assert.ok(existsSync(join(pkg, 'licenses/THIRD_PARTY.md')));
  const sums = readFileSync(join(pkg, 'SHA256SUMS'), 'utf8');
  for (const path of ['./config/qa/.env.template', './kubernetes/overlays/qa/kustomization.yaml', './licenses/README.md'])
    assert.ok(sums.includes(`  ${path}\n`), path);
  // The packaged overlay has {{version}} substituted and renders with kubectl.
  const rendered = sh(pkg, 'kubectl kustomize kubernetes/overlays/qa');
  assert.is(rendered.status, 0, rendered.output);
  assert.match(rendered.output, /\n {2}name: spacetime-vr-qa\n/);
  assert.match(rendered.output, /image: spacetime-vr:2\.5\.0\n/);
  assert.match(rendered.output, /\n {2}replicas: 3\n/);
  // The packaged deploy script accepts the new environment at once.
  const deploy = sh(pkg, 'bash scripts/deployment/deploy.sh qa --dry-run', { DOCKER_REGISTRY: 'registry.example.invalid/spacetime' });
  assert.is(deploy.status, 0, deploy.output);
  assert.match(deploy.output, /registry\.example\.invalid\/spacetime\/spacetime-vr:2\.5\.0/);
  assert.match(deploy.output, /Namespace - spacetime-vr-qa/);
});

test.after(cleanUp);
test.run();
