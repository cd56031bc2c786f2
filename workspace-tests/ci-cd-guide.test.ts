import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import { parse } from 'yaml';
import * as assert from 'uvu/assert';
import { readFragment } from '../libs/release-kit/src/format/fragment';
import { stageSectionTree } from '../libs/release-kit/src/section/tree';
import { cleanUp, commitAll, copyWorkspace, nx, SOURCE_ROOT, tempDir } from './workspace';

// docs/deployment/CI_CD_GUIDE.md (the spec lists CI_CD_GUIDE.md among its documents) ships in the
// package, passes the docs validation, and says what the two pipeline files do: their jobs, their
// nx commands, their secrets and variables, and no target, secret or variable they do not have.
const GUIDE = 'libs/sections/docs/src/deployment/CI_CD_GUIDE.md';
const github = readFileSync(join(SOURCE_ROOT, '.github/workflows/release.yml'), 'utf8');
const gitlab = readFileSync(join(SOURCE_ROOT, '.gitlab-ci.yml'), 'utf8');
const guide = readFileSync(join(SOURCE_ROOT, GUIDE), 'utf8');

test.after(cleanUp);

/** The target branch, as each service names it, and as the guide does. */
const TARGET_BRANCH = /\$\{\{\s*github\.base_ref\s*\}\}|"?\$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"?/g;

/** Every string of a YAML document (comments are not strings). */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** What the pipelines hold that a reader of the guide must find there. */
function pipelineFacts(githubText: string, gitlabText: string) {
  const githubDoc = parse(githubText);
  const gitlabDoc = parse(gitlabText);
  const names = new Set<string>();
  for (const text of strings(githubDoc)) for (const m of text.matchAll(/\$\{\{\s*(?:secrets|vars)\.([A-Z0-9_]+)\s*\}\}/g)) names.add(m[1]);
  // GitLab's own variables (CI_*) are not the project's to set.
  for (const text of strings(gitlabDoc))
    for (const m of text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)) if (!m[1].startsWith('CI_')) names.add(m[1]);
  const commands = new Set<string>();
  for (const text of [...strings(githubDoc), ...strings(gitlabDoc)])
    for (const m of text.matchAll(/npx nx [^\n#]+/g)) commands.add(m[0].replace(TARGET_BRANCH, '<target branch>').replace(/"/g, '').trim());
  const gitlabJobs = Object.keys(gitlabDoc).filter((key) => gitlabDoc[key]?.script);
  return { names, commands, jobs: new Set([...Object.keys(githubDoc.jobs), ...gitlabJobs]) };
}

/** The names the guide's "Secrets and Variables" table lists. */
function guideNames(text: string): Set<string> {
  const section = text.slice(text.indexOf('## Secrets and Variables'), text.indexOf('## Runners'));
  return new Set([...section.matchAll(/^\| (.+?) \|/gm)].flatMap((row) => [...row[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1])));
}

/** What the pipelines do that the guide does not say, and what the guide lists that no pipeline uses. */
function drift(guideText: string, githubText: string, gitlabText: string): string[] {
  const facts = pipelineFacts(githubText, gitlabText);
  const listed = guideNames(guideText);
  return [
    ...[...facts.names].filter((name) => !listed.has(name)).map((name) => `${name}: used by a pipeline, not in the guide's table`),
    ...[...listed].filter((name) => !facts.names.has(name)).map((name) => `${name}: in the guide's table, used by no pipeline`),
    ...[...facts.commands].filter((command) => !guideText.includes(command)).map((command) => `"${command}": not in the guide`),
    ...[...facts.jobs].filter((job) => !guideText.includes(`\`${job}\``)).map((job) => `job ${job}: not in the guide`),
  ].sort();
}

test('the guide says what the GitHub and GitLab pipelines do, and nothing they do not', () => {
  const facts = pipelineFacts(github, gitlab);
  assert.equal([...facts.jobs].sort(), ['affected', 'main', 'release']);
  assert.ok(
    facts.names.has('RELEASE_SIGNING_KEY') && facts.names.has('NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN'),
    [...facts.names].join(' '),
  );
  assert.ok(facts.commands.has('npx nx affected -t validate package --base=origin/<target branch> --head=HEAD --parallel=3'));
  assert.equal(drift(guide, github, gitlab), []);
});

test('the drift check notices a new secret, a new command, a new job and a stale row', () => {
  const changed = github
    .replace('AWS_REGION: ${{ vars.AWS_REGION }}', 'AWS_REGION: ${{ vars.AWS_REGION }}\n      SENTRY_TOKEN: ${{ secrets.SENTRY_TOKEN }}')
    .replace('- run: npx nx run release:verify\n', '- run: npx nx run release:verify\n      - run: npx nx run release:report\n')
    .replace('\n  main:\n', '\n  nightly:\n    runs-on: ubuntu-24.04\n\n  main:\n');
  const stale = guide.replace('| `GODOT_BIN` | variable |', '| `GODOT_BIN`, `UNITY_BIN` | variable |');
  assert.equal(drift(stale, changed, gitlab), [
    '"npx nx run release:report": not in the guide',
    "SENTRY_TOKEN: used by a pipeline, not in the guide's table",
    "UNITY_BIN: in the guide's table, used by no pipeline",
    'job nightly: not in the guide',
  ]);
});

test('every nx target and configuration the guide names exists in the workspace', () => {
  const file = join(tempDir('graph'), 'graph.json');
  const run = nx(SOURCE_ROOT, ['graph', `--file=${file}`], { NX_ISOLATE_PLUGINS: 'false' });
  assert.is(run.status, 0, run.output);
  const nodes = JSON.parse(readFileSync(file, 'utf8')).graph.nodes as Record<
    string,
    { data: { targets: Record<string, { configurations?: object }> } }
  >;
  const unknown: string[] = [];
  for (const [, project, target, configuration] of guide.matchAll(/nx run ([\w-]+):([\w-]+)(?::([\w-]+))?/g)) {
    const found = nodes[project]?.data.targets[target];
    if (!found || (configuration && !(configuration in (found.configurations ?? {}))))
      unknown.push(`${project}:${target}${configuration ? `:${configuration}` : ''}`);
  }
  for (const [, list] of guide.matchAll(/nx (?:affected|run-many) -t ([\w -]+?) (?=--)/g))
    for (const target of list.split(' ')) if (!Object.values(nodes).some((n) => target in n.data.targets)) unknown.push(target);
  assert.equal(unknown, []);
});

test('the guide ships at docs/deployment/CI_CD_GUIDE.md with the version, passes docs:validate, and is required', () => {
  const ws = copyWorkspace('ci-cd-guide');
  const env = { XDG_CONFIG_HOME: tempDir('keys') };
  const run = nx(ws, ['run', 'docs:validate', '--output-style=static'], env);
  assert.is(run.status, 0, run.output);
  const version = readFileSync(join(ws, 'VERSION'), 'utf8').trim();
  const output = join(ws, 'dist/sections/docs');
  const tree = tempDir('docs-tree');
  stageSectionTree(readFragment(output, 'docs', version), output, ws, tree);
  const shipped = readFileSync(join(tree, 'docs/deployment/CI_CD_GUIDE.md'), 'utf8');
  assert.match(shipped, `**Release:** ${version}`);
  assert.match(shipped, `node verify-release.mjs spacetime-vr-v${version}.tar.gz`);
  assert.not.match(shipped, '{{version}}');
  assert.match(readFileSync(join(tree, 'docs/README.md'), 'utf8'), '[CI/CD Guide](deployment/CI_CD_GUIDE.md)');

  rmSync(join(ws, GUIDE));
  commitAll(ws, 'drop the CI/CD guide');
  const missing = nx(ws, ['run', 'docs:validate', '--output-style=static'], env);
  assert.is.not(missing.status, 0, missing.output);
  assert.match(missing.output, 'ERROR docs/deployment/CI_CD_GUIDE.md: [docs/required] is a required document and is missing');
  assert.match(
    missing.output,
    /ERROR docs\/README\.md:\d+: \[docs\/link\] links to deployment\/CI_CD_GUIDE\.md, which does not exist in the package/,
  );
});

test.run();
