import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, copyWorkspace, nx, tempDir } from './workspace';

// Two costs Nx adds to every run unless the workspace opts out (measured with the benchmark):
// a plugin worker process per built-in graph plugin, restarted after each graph build
// (.env: NX_ISOLATE_PLUGINS=false), and TypeScript, loaded in every task process to read
// tsconfig's customConditions for a source-resolved local plugin (metadata.js false on
// executors and generators).

interface NodeProcess {
  script: string;
  project?: string;
  typescript: boolean;
}

let ws = '';
let probe = '';

test.before(() => {
  ws = copyWorkspace('nx-overhead');
  const dir = tempDir('nx-overhead-probe');
  probe = join(dir, 'probe.js');
  // Preloaded into every Node process of the run: records its script and whether TypeScript was loaded.
  writeFileSync(
    probe,
    `process.on('exit', () => require('fs').appendFileSync(${JSON.stringify(join(dir, 'processes.jsonl'))}, JSON.stringify({
      script: process.argv[1] || '',
      project: process.env.NX_TASK_TARGET_PROJECT,
      typescript: Object.keys(require.cache).some((p) => /node_modules\\/typescript\\/lib\\/typescript\\.js$/.test(p)),
    }) + '\\n'));\n`,
  );
});
test.after(() => cleanUp());

/** Runs one package task uncached and returns every Node process it started. */
function processesOf(env: NodeJS.ProcessEnv = {}): NodeProcess[] {
  const log = join(probe, '../processes.jsonl');
  writeFileSync(log, '');
  const run = nx(ws, ['run', 'config:package', '--skip-nx-cache'], { NODE_OPTIONS: `-r ${probe}`, ...env });
  assert.is(run.status, 0, run.output);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

test('a task process does not load TypeScript, and no plugin worker process is started', () => {
  const processes = processesOf();
  const task = processes.filter((p) => p.project === 'config');
  assert.ok(task.length > 0, `the probe saw no task process: ${JSON.stringify(processes)}`);
  assert.equal(task.filter((p) => p.typescript), [], 'a task process loaded TypeScript');
  assert.equal(processes.filter((p) => /plugin-worker/.test(p.script)), []);
});

test('control: the probe does see plugin workers when isolation is turned back on', () => {
  const workers = processesOf({ NX_ISOLATE_PLUGINS: 'true' }).filter((p) => /plugin-worker/.test(p.script));
  assert.ok(workers.length > 0, 'no plugin worker seen: the probe cannot tell');
});

test.run();
