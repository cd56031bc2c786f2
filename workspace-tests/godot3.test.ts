import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requireTool } from './engines';
import { cleanUp, commitAll, copyWorkspace, nx, sh } from './workspace';

/**
 * The godot-export executor with a REAL engine: Debian's Godot 3.2.3 (`godot3`, under xvfb-run),
 * on the fixture project workspace-tests/fixtures/godot3-hello. Debian ships no export templates,
 * so what a real engine can export here is the pack (`--export-pack`): the test runs that pack
 * with Debian's headless runtime (`godot3-server --main-pack`), proving the export holds the
 * scene and its compiled script. A binary export (`--export`) needs templates: that it fails,
 * and fails the task with Godot's own reason, is the second test.
 */
let ws = '';
const FIXTURE = 'workspace-tests/fixtures/godot3-hello';
const env = { GODOT_BIN: '', DISPLAY: '' };

test.before(() => {
  requireTool('godot3', 'apt-get install godot3');
  requireTool('godot3-server', 'apt-get install godot3-server');
  requireTool('xvfb-run', 'apt-get install xvfb xauth');
  ws = copyWorkspace('godot3');
  writeFileSync(
    join(ws, FIXTURE, 'project.json'),
    JSON.stringify({
      name: 'godot3-hello',
      targets: {
        export: {
          executor: '@spacetime/executors:godot-export',
          options: {
            project: '.',
            preset: 'Linux Server Pack',
            mode: 'pack',
            name: 'hello',
            outputPath: 'dist/godot3-hello',
            timeout: 120,
          },
        },
      },
    }),
  );
  commitAll(ws, 'godot3 fixture project');
});

test('real Godot 3: --export-pack through the executor, and the pack runs headless', () => {
  const run = nx(ws, ['run', 'godot3-hello:export'], env);
  assert.is(run.status, 0, run.output);
  assert.match(
    run.output,
    /Godot 3\.2\.3\.stable\.custom_build \(.*godot3, from PATH \(godot3\)\): exporting preset "Linux Server Pack" \(pack\)/,
  );
  const out = join(ws, 'dist/godot3-hello');
  const pck = join(out, 'hello.pck');
  assert.ok(statSync(pck).size > 0);
  assert.is(statSync(pck).mode & 0o777, 0o644);
  assert.is(readFileSync(join(out, 'VERSION.txt'), 'utf8'), '2.5.0\n');
  const log = readFileSync(join(out, 'godot-export.log'), 'utf8');
  assert.match(
    log,
    /^\$ xvfb-run -a .*godot3 --no-window --path .*fixtures\/godot3-hello --export-pack "Linux Server Pack" .*\/dist\/godot3-hello\/hello\.pck$/m,
  );
  assert.match(log, /savepack: end/);
  const set = JSON.parse(readFileSync(join(out, 'artifacts.json'), 'utf8'));
  assert.equal(set.metadata.godot, { mode: 'pack', preset: 'Linux Server Pack', version: '3.2.3.stable.custom_build' });

  const played = sh(ws, `timeout 60 godot3-server --main-pack ${pck}`);
  assert.is(played.status, 0, played.output);
  assert.match(played.output, /^SPACETIME_FIXTURE ok sum=285 engine=3\.2\.3-stable \(custom_build\)$/m);
});

test("real Godot 3: a binary export without export templates fails the task with Godot's reason", () => {
  const run = nx(ws, ['run', 'godot3-hello:export', '--mode=release', '--skip-nx-cache'], env);
  assert.is.not(run.status, 0);
  assert.match(run.output, /Godot export of preset "Linux Server Pack" failed:/);
  assert.match(
    run.output,
    /log: ERROR: _fs_changed: Cannot export project with preset 'Linux Server Pack' due to configuration errors:\n\s+No export template found at the expected path:/,
  );
  assert.match(run.output, /Godot wrote no hello/);
});

test.after(cleanUp);
test.run();
