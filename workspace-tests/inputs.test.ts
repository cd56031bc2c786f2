import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, copyWorkspace, git, nx, sh, tasksFromCache, tasksRun } from './workspace';

// Files no package task may read: changing them must leave every package in the cache.
const OUTSIDE = ['README.md', 'tools/bench/bench.ts', 'tools/run-tests.mjs', 'workspace-tests/workspace.ts'];

interface Source {
  from: string;
  to: string;
}

let ws = '';
let sections: string[] = [];
const filesOf = (section: string) => git(ws, 'ls-files', `libs/sections/${section}`).split('\n');
const fragmentSha = (section: string, path: string) =>
  JSON.parse(readFileSync(join(ws, 'dist/sections', section, 'fragment.json'), 'utf8')).files.find((f: { path: string }) => f.path === path)
    ?.sha256;

test.before(() => {
  ws = copyWorkspace('inputs');
  sections = readdirSync(join(ws, 'libs/sections')).sort();
});

// Exhaustive and cheap: Nx hashes a task from its hash plan's files, so a file in the plan changes the hash.
test("every file of every section is in its own package task's hash plan and in no other; files outside are in none", () => {
  const run = sh(ws, 'NX_DAEMON=false node -r @swc-node/register workspace-tests/task-inputs.ts');
  assert.is(run.status, 0, run.output);
  const plans: Record<string, string[]> = JSON.parse(run.output.slice(run.output.indexOf('{')));
  let checked = 0;
  for (const section of sections) {
    for (const file of filesOf(section)) {
      checked += 1;
      for (const [task, files] of Object.entries(plans)) {
        assert.is(
          files.includes(file),
          task === `${section}:package`,
          `${file} ${files.includes(file) ? 'is' : 'is not'} an input of ${task}`,
        );
      }
    }
  }
  for (const file of OUTSIDE)
    for (const [task, files] of Object.entries(plans)) assert.not.ok(files.includes(file), `${file} is an input of ${task}`);
  console.log(`${checked} section files, each an input of exactly its section's package task; ${OUTSIDE.length} outside files in none`);
  assert.ok(checked > 100);
});

/** The first file a section ships from its sources, and its path in the package. */
function shippedFile(section: string): { file: string; path: string } {
  const project = JSON.parse(readFileSync(join(ws, 'libs/sections', section, 'project.json'), 'utf8'));
  const sources: Source[] = project.targets.package.options?.sources ?? [{ from: 'src', to: '.' }];
  for (const { from, to } of sources) {
    const prefix = `libs/sections/${section}/${from}/`;
    const file = filesOf(section).find((f) => f.startsWith(prefix));
    if (file) return { file, path: [section, ...(to === '.' ? [] : [to]), file.slice(prefix.length)].join('/') };
  }
  throw new Error(`${section} ships no source file`);
}

// The round trip the plan check stands for, once per section: a change reruns the task and ships.
test('changing one shipped file per section reruns exactly those package tasks and ships the change', () => {
  const first = nx(ws, ['run-many', '-t', 'package']);
  assert.is(first.status, 0, first.output);
  const changed = sections.map((section) => ({ section, ...shippedFile(section) }));
  const before = changed.map(({ section, path }) => fragmentSha(section, path));
  for (const { file } of changed) appendFileSync(join(ws, file), '\n');
  const second = nx(ws, ['run-many', '-t', 'package']);
  assert.is(second.status, 0, second.output);
  changed.forEach(({ section, file, path }, i) => {
    assert.ok(
      tasksRun(second.output).some((t) => t.startsWith(`${section}:package`)),
      `${section}:package was a stale cache hit after ${file} changed`,
    );
    assert.ok(before[i], `${path} is not in ${section}'s fragment`);
    assert.is.not(fragmentSha(section, path), before[i], `${path} did not change in the package`);
  });
});

test('changing files outside every input leaves every package task in the cache', () => {
  for (const file of OUTSIDE) appendFileSync(join(ws, file), '\n');
  const run = nx(ws, ['run-many', '-t', 'package']);
  assert.is(run.status, 0, run.output);
  assert.equal(tasksRun(run.output), []);
  for (const section of sections)
    assert.ok(
      tasksFromCache(run.output).some((t) => t.startsWith(`${section}:package`)),
      `${section}:package did not come from the cache`,
    );
});

test.after(cleanUp);
test.run();
