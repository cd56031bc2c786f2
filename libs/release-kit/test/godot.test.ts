import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exportCommand, parseExportPresets, parseGodotVersion, requiredGodot } from '../src/build/godot';
import { exportGodotProject, GodotExportOptions } from '../src/build/godot-export';
import { logErrors } from '../src/build/godot-log';
import { writeGodot4StandIn } from './godot-stand-in';
import { cleanTempDirs, tempDir } from './helpers';

const BINARIES = join(__dirname, '../../sections/binaries/godot');

test('reads the presets of the server project', () => {
  const presets = parseExportPresets(readFileSync(join(BINARIES, 'export_presets.cfg'), 'utf8'));
  assert.equal(
    presets.map((p) => [p.name, p.platform, p.embedPck]),
    [
      ['Linux Server', 'Linux', true],
      ['Windows Desktop', 'Windows Desktop', true],
      ['Linux Server arm64', 'Linux', true],
    ],
  );
  assert.equal(requiredGodot(readFileSync(join(BINARIES, 'project.godot'), 'utf8')), { major: 4, minor: 5 });
  assert.equal(requiredGodot('config_version=4\n'), { major: 3 });
});

test('reads Godot 3 and 4 versions', () => {
  assert.equal(parseGodotVersion('3.2.3.stable.custom_build\n'), { full: '3.2.3.stable.custom_build', major: 3, minor: 2 });
  assert.equal(parseGodotVersion('Godot Engine\n4.5.1.stable.official.f62fdbde1\n')?.major, 4);
  assert.is(parseGodotVersion('bash: godot: command not found'), undefined);
});

test('builds the Godot 4 and Godot 3 command lines', () => {
  assert.equal(exportCommand('/g4', 4, '/p', 'Linux Server', 'release', '/o/s', false), {
    command: '/g4',
    args: ['--headless', '--path', '/p', '--export-release', 'Linux Server', '/o/s'],
  });
  assert.equal(exportCommand('/g4', 4, '/p', 'X', 'pack', '/o/s.pck', true).args[3], '--export-pack');
  assert.equal(exportCommand('/g3', 3, '/p', 'X', 'release', '/o/s', true), {
    command: '/g3',
    args: ['--no-window', '--path', '/p', '--export', 'X', '/o/s'],
  });
  assert.equal(exportCommand('/g3', 3, '/p', 'X', 'debug', '/o/s', false), {
    command: 'xvfb-run',
    args: ['-a', '/g3', '--no-window', '--path', '/p', '--export-debug', 'X', '/o/s'],
  });
});

// Lines from a real Godot 3.2.3 export on a machine without sound card or locale.
const HARMLESS_LOG = `Godot Engine v3.2.3.stable.custom_build - https://godotengine.org
ERROR: init_device: Condition "status < 0" is true. Returned: ERR_CANT_OPEN
   At: drivers/alsa/audio_driver_alsa.cpp:83.
WARNING: initialize: All audio drivers failed, falling back to the dummy driver.
   At: servers/audio_server.cpp:215.
ERROR: get_language_code: Invalid locale 'C'.
   At: core/translation.cpp:945.
ERROR: set_locale: Unsupported locale 'C', falling back to 'en'.
   At: core/translation.cpp:969.
ERROR: get_value: Couldn't find the given section "preset.0" and key "patch_list", and no default was given.
   At: core/io/config_file.cpp:89.
savepack: end
`;

test('judges the log: harmless noise passes, export and script errors fail', () => {
  assert.equal(logErrors(HARMLESS_LOG), []);
  const failed =
    logErrors(`${HARMLESS_LOG}ERROR: _fs_changed: Project export failed for preset 'Linux Pack', the export template appears to be missing.
   At: editor/editor_node.cpp:753.
SCRIPT ERROR: Parse Error: Expected ")"
   at: GDScript::reload (res://main.gd:3)
`);
  assert.is(failed.length, 2);
  assert.match(failed[0], /export template appears to be missing/);
  assert.match(failed[1], /^SCRIPT ERROR: Parse Error.*\n {4}at: GDScript::reload \(res:\/\/main\.gd:3\)/);
});

function options(over: Partial<GodotExportOptions> & { env: NodeJS.ProcessEnv }): GodotExportOptions {
  const project = join(tempDir('godot-project'), 'godot');
  cpSync(BINARIES, project, { recursive: true, filter: (s) => !s.endsWith('/.godot') });
  return {
    workspaceRoot: join(project, '..'),
    projectDir: project,
    preset: 'Linux Server',
    mode: 'release',
    outputDir: join(tempDir('godot-out'), 'server'),
    name: 'spacetime-server',
    version: '2.5.0',
    timeoutSeconds: 60,
    smokeArgs: ['--smoke'],
    smokeReady: '^SpaceTime VR server {{version}} ready$',
    smokeTimeoutSeconds: 30,
    production: false,
    ...over,
  };
}

function standInEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const bin = writeGodot4StandIn(tempDir('standin'));
  return { ...process.env, PATH: `${bin}:/usr/bin:/bin`, GODOT_BIN: '', ...extra };
}

test('Godot 4 (STAND-IN): imports a never-imported project, checks it, exports, starts the server, records artifacts', async () => {
  const calls = join(tempDir('calls'), 'calls.jsonl');
  const o = options({ env: standInEnv({ STANDIN_GODOT_CALLS: calls }) });
  const result = await exportGodotProject(o);
  assert.is(result.godotVersion, '4.5.1.stable.official.0standin');
  const lines = readFileSync(calls, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.slice(1, 2), [['--headless', '--path', o.projectDir, '--import']]);
  assert.equal(lines[2].slice(0, 4), ['--headless', '--path', o.projectDir, '-s']);
  assert.match(lines[2][4], /\/spacetime-check\.gd$/);
  assert.not.ok(existsSync(lines[2][4]), 'the checker script is removed after the check');
  assert.equal(lines.slice(3), [
    ['--headless', '--path', o.projectDir, '--export-release', 'Linux Server', join(o.outputDir, 'spacetime-server')],
  ]);
  // Every script and scene the preset exports was handed to the engine; the excluded tests and gdUnit4 were not.
  const check = readFileSync(join(o.outputDir, 'godot-check.log'), 'utf8');
  assert.match(check, /^SPACETIME_CHECK res:\/\/scripts\/server\/server_main\.gd$/m);
  assert.match(check, /^SPACETIME_CHECK res:\/\/scenes\/main\.tscn$/m);
  assert.not.match(check, /res:\/\/tests\/|res:\/\/addons\/gdUnit4\//);
  const smoke = readFileSync(join(o.outputDir, 'godot-smoke.log'), 'utf8');
  assert.match(smoke, /^\$ .*\/server\/spacetime-server --headless --smoke\nSpaceTime VR server 2\.5\.0 ready\n$/);
  assert.is(statSync(join(o.outputDir, 'spacetime-server')).mode & 0o777, 0o755);
  assert.is(statSync(join(o.outputDir, 'VERSION.txt')).mode & 0o777, 0o644);
  assert.is(readFileSync(join(o.outputDir, 'VERSION.txt'), 'utf8'), '2.5.0\n');
  assert.ok(existsSync(join(o.outputDir, 'godot-export.log')));
  const set = JSON.parse(readFileSync(join(o.outputDir, 'artifacts.json'), 'utf8'));
  assert.equal(
    set.files.map((f: { path: string }) => f.path),
    ['VERSION.txt', 'spacetime-server'],
  );
  assert.equal(set.metadata.godot, {
    artifact: 'spacetime-server',
    checkedFiles: 18,
    mode: 'release',
    preset: 'Linux Server',
    smoke: { args: ['--smoke'], ready: '^SpaceTime VR server 2\\.5\\.0 ready$' },
    version: '4.5.1.stable.official.0standin',
  });
});

const failures: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
  [
    'a script that does not parse (Godot 4 message format)',
    { STANDIN_GODOT_FAULT: 'parse-error' },
    /godot: the project does not load in Godot 4\.5\.1\.stable\.official\.0standin:\n {2}- godot\/addons\/godot_debug_connection\/debug_connection\.gd:12: does not compile: Parse Error: Expected end of statement/,
  ],
  [
    'a server that prints a script error at start',
    { STANDIN_GODOT_FAULT: 'server-error' },
    /server\/spacetime-server: the exported server does not start \(--smoke\):\n {2}- printed SCRIPT ERROR: Invalid access to property or key 'port'/,
  ],
  [
    'exit 0 with an ERROR line',
    { STANDIN_GODOT_FAULT: 'error' },
    /Godot export of preset "Linux Server" failed:\n {2}- log: ERROR: Project export for preset "Linux Server" failed\./,
  ],
  [
    'exit 0 without an output file',
    { STANDIN_GODOT_FAULT: 'no-output' },
    /failed:\n {2}- Godot wrote no spacetime-server\n {2}hint: full log: .*godot-export\.log/,
  ],
];
for (const [name, extra, expected] of failures) {
  test(`Godot 4 (STAND-IN) fault "${name}" fails the export`, async () => {
    const o = options({ env: standInEnv(extra) });
    await exportGodotProject(o).then(
      () => assert.unreachable('the export should fail'),
      (e: Error) => assert.match(e.message, expected),
    );
    assert.not.ok(existsSync(join(o.outputDir, 'artifacts.json')));
  });
}

test('Godot 4 (STAND-IN) hang: stopped at the timeout, its whole process group killed', async () => {
  const pidFile = join(tempDir('pid'), 'child.pid');
  const o = options({ env: standInEnv({ STANDIN_GODOT_FAULT: 'hang', STANDIN_GODOT_CHILD_PID: pidFile }), timeoutSeconds: 2 });
  mkdirSync(join(o.projectDir, '.godot'));
  const started = Date.now();
  await exportGodotProject(o).then(
    () => assert.unreachable('a hung export must fail'),
    (e: Error) => assert.match(e.message, /Godot export did not finish within 2 s and was stopped \(process group killed\)/),
  );
  assert.ok(Date.now() - started < 15_000);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  // Gone, or a zombie waiting for init to reap it: either way no longer running.
  const running = () => existsSync(`/proc/${pid}/stat`) && !/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  for (let i = 0; i < 20 && running(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.not.ok(running(), 'the child of the hung export is still running');
});

test('an unknown preset fails before Godot runs, listing the presets that exist', async () => {
  const o = options({ env: standInEnv(), preset: 'Linux/X11' });
  await exportGodotProject(o).then(
    () => assert.unreachable('should fail'),
    (e: Error) =>
      assert.match(e.message, /export_presets\.cfg: has no export preset "Linux\/X11"; it has: "Linux Server", "Windows Desktop"/),
  );
});

test('no Godot 4: a recorded skip in development, an error in production', async () => {
  const fake3 = tempDir('godot3');
  writeFileSync(join(fake3, 'godot3'), '#!/bin/sh\necho 3.2.3.stable.custom_build\n', { mode: 0o755 });
  const env = { ...process.env, PATH: `${fake3}:/nonexistent`, GODOT_BIN: '' };
  const dev = options({ env });
  const result = await exportGodotProject(dev);
  assert.equal(
    result.skipped.map((s) => s.artifact),
    ['spacetime-server'],
  );
  assert.match(result.skipped[0].reason, /the project needs Godot 4: .*godot3 from PATH \(godot3\) is Godot 3\.2\.3\.stable\.custom_build/);
  const set = JSON.parse(readFileSync(join(dev.outputDir, 'artifacts.json'), 'utf8'));
  assert.equal(set.skipped, result.skipped);
  await exportGodotProject(options({ env: { ...env, PATH: '/nonexistent' }, production: true })).then(
    () => assert.unreachable('production must fail'),
    (e: Error) => assert.match(e.message, /cannot export the server: no Godot engine: set GODOT_BIN/),
  );
});

test.after(cleanTempDirs);
test.run();
