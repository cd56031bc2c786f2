import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { localGodot3RuntimeImage, requireTool } from './engines';
import { cleanUp, commitAll, copyWorkspace, git, nx, sh } from './workspace';

/**
 * The godot-export and docker-image executors with a REAL engine: Debian's Godot 3.2.3 (`godot3`,
 * under xvfb-run, and its headless runtime `godot3-server`) on the fixture server
 * workspace-tests/fixtures/godot3-hello, and the real Docker engine. Debian ships no export
 * templates, so what a real engine exports here is the pack (`--export-pack`), which the executor
 * starts with `godot3-server --main-pack`. Each broken project below exports "successfully" with
 * Godot itself (exit 0, a pack written); the task must fail, naming the file, line and reason.
 */
let ws = '';
const FIXTURE = 'workspace-tests/fixtures/godot3-hello';
const env = { GODOT_BIN: '', DISPLAY: '' };

test.before(() => {
  requireTool('godot3', 'apt-get install godot3');
  requireTool('godot3-server', 'apt-get install godot3-server');
  requireTool('xvfb-run', 'apt-get install xvfb xauth');
  ws = copyWorkspace('godot3');
  const exportOptions = {
    project: '.',
    preset: 'Linux Server Pack',
    mode: 'pack',
    name: 'hello',
    outputPath: 'dist/godot3-hello',
    timeout: 120,
    smokeReady: '^SPACETIME_FIXTURE {{version}} ready ',
    smokeTimeout: 30,
  };
  writeFileSync(
    join(ws, FIXTURE, 'project.json'),
    JSON.stringify({
      name: 'godot3-hello',
      targets: {
        export: { executor: '@spacetime/executors:godot-export', options: exportOptions },
        image: {
          executor: '@spacetime/executors:docker-image',
          dependsOn: ['export'],
          options: { contextPath: 'dist/godot3-hello', outputPath: 'dist/godot3-hello-image', smokeTimeout: 30 },
        },
      },
    }),
  );
  commitAll(ws, 'godot3 fixture project');
});

/** Runs the export on the fixture as changed by `files` (path → content), then restores it. */
function exportBroken(files: Record<string, (text: string) => string>, args: string[] = []) {
  for (const [path, change] of Object.entries(files)) {
    const file = join(ws, FIXTURE, path);
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // a new file
    }
    writeFileSync(file, change(text));
  }
  try {
    return nx(ws, ['run', 'godot3-hello:export', '--skip-nx-cache', ...args], env);
  } finally {
    git(ws, 'checkout', '--', FIXTURE);
    sh(ws, `git clean -fdq -- ${FIXTURE}`);
  }
}

test('real Godot 3: the clean server is checked, exported as a pack, and started with --smoke', () => {
  const run = nx(ws, ['run', 'godot3-hello:export'], env);
  assert.is(run.status, 0, run.output);
  assert.match(
    run.output,
    /Godot 3\.2\.3\.stable\.custom_build \(.*godot3, from PATH \(godot3\)\): 2 files load; exporting preset "Linux Server Pack" \(pack\)/,
  );
  assert.match(run.output, /the exported server started and printed its ready line \(--smoke\)/);
  const out = join(ws, 'dist/godot3-hello');
  assert.ok(statSync(join(out, 'hello.pck')).size > 0);
  assert.is(statSync(join(out, 'hello.pck')).mode & 0o777, 0o644);
  assert.is(readFileSync(join(out, 'VERSION.txt'), 'utf8'), '2.5.0\n');
  const check = readFileSync(join(out, 'godot-check.log'), 'utf8');
  assert.match(check, /^\$ xvfb-run -a .*godot3 --no-window --path .*fixtures\/godot3-hello -s \/.*\/spacetime-check\.gd$/m);
  assert.match(check, /^SPACETIME_CHECK res:\/\/main\.gd\nSPACETIME_CHECK res:\/\/main\.tscn\nSPACETIME_CHECK_DONE 2$/m);
  const log = readFileSync(join(out, 'godot-export.log'), 'utf8');
  assert.match(
    log,
    /^\$ xvfb-run -a .*godot3 --no-window --path .*fixtures\/godot3-hello --export-pack "Linux Server Pack" .*\/hello\.pck$/m,
  );
  // The pack ran on Debian's headless runtime and reported the version beside it.
  const smoke = readFileSync(join(out, 'godot-smoke.log'), 'utf8');
  assert.match(smoke, /^\$ \/usr\/bin\/godot3-server --main-pack .*\/dist\/godot3-hello\/hello\.pck --smoke$/m);
  assert.match(smoke, /^SPACETIME_FIXTURE 2\.5\.0 ready sum=285 engine=3\.2\.3-stable \(custom_build\)$/m);
  const set = JSON.parse(readFileSync(join(out, 'artifacts.json'), 'utf8'));
  assert.equal(set.metadata.godot, {
    artifact: 'hello.pck',
    checkedFiles: 2,
    mode: 'pack',
    preset: 'Linux Server Pack',
    smoke: { args: ['--smoke'], ready: '^SPACETIME_FIXTURE 2\\.5\\.0 ready ' },
    version: '3.2.3.stable.custom_build',
  });
});

const broken: Array<[string, Record<string, (text: string) => string>, RegExp]> = [
  [
    'a GDScript parse error',
    { 'main.gd': (t) => t.replace('\tvar total = 0\n', '\tvar total = (0\n') },
    /fixtures\/godot3-hello\/main\.gd:\d+: does not compile: Parse Error: Expected '\)' in expression/,
  ],
  [
    'a scene naming a script that does not exist',
    { 'main.tscn': (t) => t.replace('res://main.gd', 'res://server_main.gd') },
    /fixtures\/godot3-hello\/main\.tscn:3: references res:\/\/server_main\.gd, which does not exist/,
  ],
  [
    'a scene naming a resource that does not exist',
    {
      'main.tscn': (t) =>
        t
          .replace('load_steps=2', 'load_steps=3')
          .replace(']\n\n[node', ']\n[ext_resource path="res://theme/hud.tres" type="Theme" id=2]\n\n[node') +
        '\n[node name="Hud" type="Control" parent="."]\ntheme = ExtResource( 2 )\n',
    },
    /fixtures\/godot3-hello\/main\.tscn:4: references res:\/\/theme\/hud\.tres, which does not exist/,
  ],
  [
    'an autoload naming a script that does not exist',
    { 'project.godot': (t) => `${t}\n[autoload]\n\nMetrics="*res://metrics.gd"\n` },
    /fixtures\/godot3-hello\/project\.godot:\d+: autoload Metrics names res:\/\/metrics\.gd, which does not exist/,
  ],
  [
    'an autoload that is no Node',
    { 'project.godot': (t) => `${t}\n[autoload]\n\nMetrics="*res://metrics.gd"\n`, 'metrics.gd': () => 'extends Reference\n' },
    /fixtures\/godot3-hello\/metrics\.gd: is an autoload but extends Reference, not Node/,
  ],
  [
    'a server that prints a script error at start',
    {
      'main.gd': (t) => t.replace('\tif "--smoke" in args:\n', '\tif "--smoke" in args:\n\t\tvar config = null\n\t\tprint(config.port)\n'),
    },
    /dist\/godot3-hello\/hello\.pck: the exported server does not start \(--smoke\):\n {2}- never printed its ready line[^\n]*\n {2}- printed SCRIPT ERROR: _ready: Invalid get index 'port' \(on base: 'Nil'\)\.\n {4}At: res:\/\/main\.gdc:\d+\./,
  ],
];
for (const [name, files, expected] of broken) {
  test(`real Godot 3: ${name} fails the export, naming file and reason`, () => {
    const run = exportBroken(files);
    assert.is.not(run.status, 0, run.output);
    assert.match(run.output, expected, run.output);
    assert.not.ok(sh(ws, 'test -e dist/godot3-hello/artifacts.json').status === 0, 'a failed export leaves no artifacts.json');
  });
}

test('real Godot 3: an unknown preset fails before the engine runs, listing the presets there are', () => {
  const run = exportBroken({}, ['--preset=Linux Server']);
  assert.is.not(run.status, 0);
  assert.match(run.output, /fixtures\/godot3-hello\/export_presets\.cfg: has no export preset "Linux Server"; it has: "Linux Server Pack"/);
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

test('real Godot 3 in the real Docker engine: the image runs --smoke and turns healthy by its HEALTHCHECK', () => {
  requireTool('docker', 'apt-get install docker.io');
  const base = localGodot3RuntimeImage();
  const run = nx(ws, ['run', 'godot3-hello:image', '--skip-nx-cache'], { ...env, BASE_IMAGE: base });
  assert.is(run.status, 0, run.output);
  const log = readFileSync(join(ws, 'dist/godot3-hello-image/image-smoke.log'), 'utf8');
  assert.match(log, /^\$ docker run --read-only --tmpfs \/tmp --network none sha256:[0-9a-f]{64} --smoke$/m);
  assert.match(log, /^SPACETIME_FIXTURE 2\.5\.0 ready sum=285 engine=3\.2\.3-stable \(custom_build\)$/m);
  assert.match(
    log,
    /until HEALTHCHECK \["CMD","\/usr\/bin\/godot3-server","--main-pack","\/opt\/hello\/hello\.pck","--healthcheck"\] passes/,
  );
  assert.match(log, /^SPACETIME_FIXTURE 2\.5\.0 serving on 8080$/m);
  const set = JSON.parse(readFileSync(join(ws, 'dist/godot3-hello-image/artifacts.json'), 'utf8'));
  assert.equal(
    set.files.map((f: { path: string }) => f.path),
    ['spacetime-vr-2.5.0.tar.gz'],
  );
});

test('real Docker engine: an image whose server never answers its HEALTHCHECK fails the task and loses its tag', () => {
  // The server listens one port above the one its probe asks: it starts, but never turns healthy.
  const main = join(ws, FIXTURE, 'main.gd');
  writeFileSync(main, readFileSync(main, 'utf8').replace('_server.listen(PORT, ', '_server.listen(PORT + 1, '));
  try {
    const run = nx(ws, ['run', 'godot3-hello:image', '--skip-nx-cache', '--smokeTimeout=20'], {
      ...env,
      BASE_IMAGE: localGodot3RuntimeImage(),
    });
    assert.is.not(run.status, 0, run.output);
    assert.match(
      run.output,
      /fixtures\/godot3-hello\/Dockerfile: the image does not start:\n {2}- HEALTHCHECK: not healthy within 20 s; the last probe exited 1/,
      run.output,
    );
    assert.is(sh('/', 'docker image inspect spacetime-vr:dev').status, 1, 'the broken image keeps no tag');
  } finally {
    git(ws, 'checkout', '--', FIXTURE);
  }
});

test.after(cleanUp);
test.run();
