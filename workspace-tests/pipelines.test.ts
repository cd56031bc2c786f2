import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDocument, visit } from 'yaml';
import { nx, SOURCE_ROOT } from './workspace';

const PIPELINES = ['.github/workflows/release.yml', '.gitlab-ci.yml'];

interface TargetUse {
  target: string;
  project?: string;
  command: string;
}

/** Parses a pipeline file; any YAML error (not only a warning) is a failure. */
function parsePipeline(name: string, text: string) {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) throw new Error(`${name} is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc;
}

/** Every Nx target a pipeline's commands name: `nx run p:t[:c]` and `-t a b` / `--targets=a,b`. */
function targetUses(name: string, text: string): TargetUse[] {
  const uses: TargetUse[] = [];
  visit(parsePipeline(name, text), {
    Scalar(_key, node) {
      if (typeof node.value !== 'string') return;
      for (const [command] of node.value.matchAll(/\bnx\s+[^\n;&|]+/g)) {
        const words = command.trim().split(/\s+/);
        const run = words[1] === 'run' ? /^([^:-][^:]*):([^:]+)/.exec(words[2] ?? '') : null;
        if (run) uses.push({ project: run[1], target: run[2], command });
        words.forEach((word, i) => {
          const inline = /^--targets?=(.+)$/.exec(word);
          if (inline) inline[1].split(',').forEach((target) => uses.push({ target, command }));
          if (word !== '-t' && word !== '--target' && word !== '--targets') return;
          for (const next of words.slice(i + 1)) {
            if (next.startsWith('-')) break;
            uses.push({ target: next, command });
          }
        });
      }
    },
  });
  return uses;
}

const owners = new Map<string, string[]>();
/** Projects that have `target`, as `nx show projects --with-target` lists them. */
function projectsWithTarget(target: string): string[] {
  if (!owners.has(target)) {
    const run = nx(SOURCE_ROOT, ['show', 'projects', '--with-target', target, '--json'], { NX_ISOLATE_PLUGINS: 'false' });
    assert.is(run.status, 0, run.output);
    owners.set(target, JSON.parse(run.output.slice(run.output.indexOf('['))));
  }
  return owners.get(target)!;
}

function unknownTargets(name: string, text: string): string[] {
  return targetUses(name, text)
    .filter((use) => {
      const projects = projectsWithTarget(use.target);
      return use.project ? !projects.includes(use.project) : projects.length === 0;
    })
    .map((use) => `${use.project ? `${use.project}:` : ''}${use.target} (in "${use.command.trim()}")`);
}

/** The jobs a `v*` tag runs (GitHub: `if` on refs/tags/; GitLab: `rules` on CI_COMMIT_TAG), each with its `nx run` targets. */
function jobRuns(name: string, text: string): Array<{ job: string; tag: boolean; runs: string[] }> {
  const doc = parsePipeline(name, text).toJS() as Record<string, unknown>;
  const github = 'jobs' in doc;
  const jobs = Object.entries((github ? doc.jobs : doc) as Record<string, Record<string, unknown>>).filter(
    ([, job]) => job !== null && typeof job === 'object' && (github ? 'steps' in job : 'script' in job),
  );
  return jobs.map(([job, body]) => ({
    job,
    tag: /refs\/tags\/|CI_COMMIT_TAG/.test(JSON.stringify(github ? (body.if ?? '') : (body.rules ?? ''))),
    runs: [...JSON.stringify(body).matchAll(/\bnx\s+run\s+([^\s"\\]+)/g)].map((m) => m[1]),
  }));
}

/** What is wrong with a pipeline's releases: a tag job must assemble and publish with `:production`, and only tag jobs publish. */
function releaseProblems(name: string, text: string): string[] {
  const problems: string[] = [];
  const jobs = jobRuns(name, text);
  if (!jobs.some((j) => j.tag)) problems.push('no job runs on a v* tag');
  for (const { job, tag, runs } of jobs) {
    for (const run of runs.filter((r) => /^release:(publish|assemble)(:|$)/.test(r))) {
      if (/^release:publish/.test(run) && !tag) problems.push(`${job}: ${run} outside a tag job`);
      if (tag && !run.endsWith(':production')) problems.push(`${job}: ${run} is not the production configuration`);
    }
    for (const needed of ['release:assemble:production', 'release:publish:production']) {
      if (tag && !runs.includes(needed)) problems.push(`${job}: never runs ${needed}`);
    }
  }
  return problems;
}

type Job = Record<string, any>;

/**
 * What is wrong with a pipeline's keyless provenance: a GitHub tag job runs
 * actions/attest-build-provenance on both archives after assembling them, with the id-token and
 * attestations permissions; a GitLab tag job has the runner describe its dist/release artifacts.
 */
function keylessProblems(name: string, text: string): string[] {
  const doc = parsePipeline(name, text).toJS() as Record<string, any>;
  const github = 'jobs' in doc;
  const problems: string[] = [];
  for (const { job } of jobRuns(name, text).filter((j) => j.tag)) {
    const body: Job = (github ? doc.jobs : doc)[job];
    if (!github) {
      if (body.variables?.RUNNER_GENERATE_ARTIFACTS_METADATA !== 'true')
        problems.push(`${job}: RUNNER_GENERATE_ARTIFACTS_METADATA is not "true"`);
      if (!(body.artifacts?.paths ?? []).some((p: string) => p.replace(/\/$/, '') === 'dist/release'))
        problems.push(`${job}: no dist/release artifacts`);
      continue;
    }
    for (const permission of ['id-token', 'attestations'])
      if (body.permissions?.[permission] !== 'write') problems.push(`${job}: permissions.${permission} is not write`);
    const steps: Job[] = body.steps ?? [];
    const attest = steps.findIndex((step) => /^actions\/attest-build-provenance@v\d+$/.test(step.uses ?? ''));
    if (attest < 0) {
      problems.push(`${job}: no actions/attest-build-provenance step`);
      continue;
    }
    const subjects = String(steps[attest].with?.['subject-path'] ?? '').split('\n');
    for (const archive of ['.tar.gz', '.zip'])
      if (!subjects.some((path) => path.startsWith('dist/release/') && path.endsWith(archive)))
        problems.push(`${job}: no ${archive} subject`);
    if (attest < steps.findIndex((step) => /release:assemble:production/.test(step.run ?? '')))
      problems.push(`${job}: attests before release:assemble:production`);
  }
  return problems;
}

const pipelines = PIPELINES.map((name) => ({ name, text: readFileSync(join(SOURCE_ROOT, name), 'utf8') }));

test("both pipelines are valid YAML and run the contract's commands", () => {
  for (const { name, text } of pipelines) {
    const commands = targetUses(name, text).map((u) => `${u.project ?? '*'}:${u.target}`);
    for (const expected of ['*:validate', '*:package', 'release:assemble', 'release:verify', 'release:publish']) {
      assert.ok(commands.includes(expected), `${name} never runs ${expected}`);
    }
    assert.match(text, /nx affected -t validate package --base=/);
    assert.match(text, /bash tools\/install-toolchain\.sh/);
    assert.match(text, /NX_SELF_HOSTED_REMOTE_CACHE_SERVER/);
  }
});

test('every target a pipeline names exists in the workspace (pending ones excepted)', () => {
  for (const { name, text } of pipelines) assert.equal(unknownTargets(name, text), [], name);
});

test('the tag jobs assemble and publish with the production configuration; only they publish', () => {
  for (const { name, text } of pipelines) {
    assert.equal(releaseProblems(name, text), [], name);
    assert.ok(
      jobRuns(name, text).some((j) => j.tag && j.runs.includes('release:publish:production')),
      `${name}: no tag job runs release:publish:production`,
    );
    const plain = text.replace('nx run release:publish:production', 'nx run release:publish');
    assert.equal(releaseProblems(name, plain), [
      `release: release:publish is not the production configuration`,
      'release: never runs release:publish:production',
    ]);
  }
});

test("the tag jobs also attest the archives keylessly: GitHub's attest-build-provenance, GitLab's runner provenance", () => {
  for (const { name, text } of pipelines) assert.equal(keylessProblems(name, text), [], name);
  const [github, gitlab] = pipelines;
  const broken = github.text.replace('id-token: write', 'id-token: read').replace(/dist\/release\/spacetime-vr-v\*\.zip\n/, '');
  assert.equal(keylessProblems(github.name, broken), ['release: permissions.id-token is not write', 'release: no .zip subject']);
  assert.equal(keylessProblems(github.name, github.text.replace('actions/attest-build-provenance', 'actions/upload-artifact')), [
    'release: no actions/attest-build-provenance step',
  ]);
  assert.equal(keylessProblems(gitlab.name, gitlab.text.replace("RUNNER_GENERATE_ARTIFACTS_METADATA: 'true'", '')), [
    'release: RUNNER_GENERATE_ARTIFACTS_METADATA is not "true"',
  ]);
});

test('the check fails on a bogus target and on broken YAML', () => {
  const [github] = pipelines;
  const broken = github.text
    .replace('nx run release:verify', 'nx run release:verfy')
    .replace('-t validate package --base', '-t validate pakage --base');
  assert.equal(
    unknownTargets(github.name, broken).map((u) => u.split(' ')[0]),
    ['pakage', 'release:verfy'],
  );
  assert.throws(() => targetUses('broken.yml', `${github.text}\n  - [unclosed`), /not valid YAML/);
  assert.throws(() => targetUses('duplicate.yml', 'jobs: {}\njobs: {}\n'), /not valid YAML/);
});

test.run();
