import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, copyWorkspace, nx, sh, tempDir } from './workspace';

// Costs paid on every Nx run unless the workspace avoids them (measured with the benchmark):
// - a plugin worker process per built-in graph plugin, which Nx 24 restarts after each graph
//   build (.env: NX_ISOLATE_PLUGINS=false);
// - TypeScript, loaded in every task process to read tsconfig's customConditions for a local
//   plugin resolved from source (metadata.js false on executors and generators);
// - the daemon fetching nx@latest from the registry when it starts (.env: NX_USE_LOCAL);
// - Node's start, for each hash of a packaging target, and Godot's, for each hash of the binaries
//   targets (tools/build-inputs.sh remembers their versions).

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

/** Runs `nx args` with the probe and returns every Node process it started. */
function processesOf(args = ['run', 'config:package', '--skip-nx-cache'], env: NodeJS.ProcessEnv = {}): NodeProcess[] {
  writeFileSync(join(probe, '../processes.jsonl'), '');
  const run = nx(ws, args, { NODE_OPTIONS: `-r ${probe}`, ...env });
  assert.is(run.status, 0, run.output);
  return probed();
}

function probed(): NodeProcess[] {
  return readFileSync(join(probe, '../processes.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

test('a task process does not load TypeScript, and no plugin worker process is started', () => {
  const processes = processesOf();
  const task = processes.filter((p) => p.project === 'config');
  assert.ok(task.length > 0, `the probe saw no task process: ${JSON.stringify(processes)}`);
  assert.equal(
    task.filter((p) => p.typescript),
    [],
    'a task process loaded TypeScript',
  );
  assert.equal(
    processes.filter((p) => /plugin-worker/.test(p.script)),
    [],
  );
});

test('control: the probe does see plugin workers when isolation is turned back on', () => {
  const workers = processesOf(undefined, { NX_ISOLATE_PLUGINS: 'true' }).filter((p) => /plugin-worker/.test(p.script));
  assert.ok(workers.length > 0, 'no plugin worker seen: the probe cannot tell');
});

/** The npm processes the Nx daemon starts in its first seconds, `nx show projects` having started it. */
function npmStartedByDaemon(env: NodeJS.ProcessEnv): NodeProcess[] {
  const daemon = { NX_DAEMON: 'true', CI: 'false', ...env };
  processesOf(['show', 'projects'], daemon);
  // The daemon primes its editor and AI-agent prompts in the background right after it starts.
  spawnSync('sleep', ['5']);
  const stop = nx(ws, ['daemon', '--stop'], daemon);
  assert.is(stop.status, 0, stop.output);
  return probed().filter((p) => /\/npm(-cli\.js)?$/.test(p.script));
}

test('the Nx daemon does not fetch nx@latest when it starts (.env: NX_USE_LOCAL)', () => {
  assert.equal(npmStartedByDaemon({}), []);
});

test('control: without NX_USE_LOCAL the daemon starts npm to look up nx@latest', () => {
  assert.ok(npmStartedByDaemon({ NX_USE_LOCAL: 'false' }).length > 0, 'no npm process seen: the probe cannot tell');
});

/** The engines whose version tools/build-inputs.sh remembers, each behind a wrapper that counts its starts. */
const versionedEngines = [
  {
    input: 'godot',
    real: 'godot3',
    env: (wrapper: string) => ({ GODOT_BIN: wrapper }),
    first: /^GODOT_BIN=3\.\d+\.\d+\.stable/,
    changed: { prints: '4.3.stable.official', input: 'GODOT_BIN=4.3.stable.official' },
  },
  {
    input: 'node',
    real: process.execPath,
    env: (wrapper: string) => ({ PATH: `${dirname(wrapper)}:${process.env.PATH}` }),
    first: new RegExp(`^node=${process.version}$`),
    changed: { prints: 'v99.0.0', input: 'node=v99.0.0' },
  },
];

for (const engine of versionedEngines) {
  test(`the ${engine.input} build input asks the binary for its version once, and again when the binary changes`, () => {
    const dir = tempDir(`${engine.input}-version`);
    const starts = join(dir, 'starts');
    const wrapper = join(dir, engine.input);
    writeFileSync(wrapper, `#!/bin/sh\necho start >> ${starts}\nexec ${engine.real} "$@"\n`, { mode: 0o755 });
    const input = () => {
      const run = sh(ws, `sh tools/build-inputs.sh ${engine.input}`, { ...engine.env(wrapper), XDG_CACHE_HOME: join(dir, 'cache') });
      assert.is(run.status, 0, run.output);
      return run.output.trim();
    };
    const first = input();
    assert.match(first, engine.first);
    assert.is(input(), first);
    assert.is(readFileSync(starts, 'utf8'), 'start\n', 'the second hash started the binary again');
    writeFileSync(wrapper, `#!/bin/sh\necho start >> ${starts}\necho ${engine.changed.prints}\n`);
    assert.is(input(), engine.changed.input, 'a changed binary kept its old version');
  });
}

test.run();
