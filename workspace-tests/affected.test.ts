import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, commitAll, copyWorkspace, git, nx } from './workspace';

// What a pull request's pipeline runs: `nx affected -t validate package`.
const TARGETS = ['validate', 'package'];
const PACKAGE_SECTION = '@spacetime/executors:package-section';

interface Target {
  executor?: string;
  options?: { sources?: { render?: boolean }[]; generate?: unknown[] };
}
interface Graph {
  nodes: Record<string, { data: { root: string; targets: Record<string, Target> } }>;
  dependencies: Record<string, { target: string }[]>;
}

let ws = '';
let graph: Graph;
const matrix: string[] = [];

test.before(() => {
  ws = copyWorkspace('affected');
  const run = nx(ws, ['graph', '--file=graph.json']);
  assert.is(run.status, 0, run.output);
  graph = JSON.parse(readFileSync(join(ws, 'graph.json'), 'utf8')).graph;
  git(ws, 'clean', '-fdq');
});

/** The seeds and every project depending on them, limited to projects that have one of TARGETS. */
function withDependents(seeds: string[]): string[] {
  const found = new Set(seeds);
  for (const project of found) {
    for (const [source, deps] of Object.entries(graph.dependencies)) {
      if (deps.some((d) => d.target === project)) found.add(source);
    }
  }
  return [...found].filter((p) => TARGETS.some((t) => graph.nodes[p]?.data.targets[t])).sort();
}

const projects = () => Object.keys(graph.nodes);
const sections = () => projects().filter((p) => graph.nodes[p].data.root.startsWith('libs/sections/'));
const running = (executor: string) =>
  projects().filter((p) => Object.values(graph.nodes[p].data.targets).some((t) => t.executor === executor));

/**
 * A section's package embeds the version when its executor names every archive entry
 * `spacetime-vr-v<version>/...` (and records the version its fragment was packed for), or when it
 * renders `{{version}}` or generates version-bearing files.
 */
function embedsVersion(project: string): boolean {
  const pkg = graph.nodes[project].data.targets.package;
  return !!pkg && (pkg.executor === PACKAGE_SECTION || !!pkg.options?.sources?.some((s) => s.render) || !!pkg.options?.generate?.length);
}

/** Touches `file`, commits, and returns what `nx show projects --affected` selects for TARGETS. */
function selectionAfterChanging(file: string): string[] {
  appendFileSync(join(ws, file), '\n');
  commitAll(ws, `Change ${file}`);
  // In-process plugins: the selection is the same, and each run starts in half the time.
  const run = nx(ws, ['show', 'projects', '--affected', '-t', ...TARGETS, '--base=HEAD~1', '--head=HEAD', '--json'], {
    NX_ISOLATE_PLUGINS: 'false',
  });
  assert.is(run.status, 0, run.output);
  return (JSON.parse(run.output.slice(run.output.indexOf('['))) as string[]).sort();
}

function check(label: string, file: string, expected: string[]) {
  const selected = selectionAfterChanging(file);
  matrix.push(`| ${label} | \`${file}\` | ${selected.join(', ') || '(nothing)'} |`);
  assert.equal(selected, expected, `${file}: selected ${selected.join(', ')}, expected ${expected.join(', ')}`);
}

test('a change to one section selects that section and release', () => {
  assert.ok(sections().length >= 8, sections().join(' '));
  for (const section of sections()) {
    const file = git(ws, 'ls-files', graph.nodes[section].data.root)
      .split('\n')
      .find((f) => !f.endsWith('project.json'))!;
    check(`section ${section}`, file, withDependents([section]));
  }
});

test('VERSION selects every section whose package embeds the version, and what depends on them', () => {
  const embedding = sections().filter(embedsVersion);
  assert.ok(embedding.length > 0);
  check('version', 'VERSION', withDependents(embedding));
});

test('the release config selects only release', () => {
  check('release config', 'libs/release/release.config.json', withDependents(['release']));
  assert.equal(withDependents(['release']), ['release']);
});

test('the engine and an executor select every project that runs them', () => {
  check('release-kit', 'libs/release-kit/src/archive/gzip.ts', withDependents(['release-kit']));
  for (const executor of ['package-section', 'godot-export']) {
    check(`executor ${executor}`, `executors/${executor}/executor.ts`, withDependents(running(`@spacetime/executors:${executor}`)));
  }
});

test('files outside every input select nothing', () => {
  for (const file of ['README.md', 'tools/bench/bench.ts']) check('outside inputs', file, []);
});

test.after(() => {
  console.log(['| Change | File | `nx affected -t validate package` selects |', '| --- | --- | --- |', ...matrix].join('\n'));
  cleanUp();
});
test.run();
