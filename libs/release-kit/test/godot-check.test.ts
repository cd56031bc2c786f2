import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkerScript, readCheckLog, settingProblems } from '../src/build/godot-check';
import { readyPattern } from '../src/build/godot-export';
import { errorLocation, errorText, logErrors } from '../src/build/godot-log';
import { checkedFiles, hasUnimportedAssets, lineOf, projectFiles, readProjectSettings } from '../src/build/godot-project';
import { judgeSmoke, smokeCommand, SmokeTarget } from '../src/build/godot-smoke';
import { cleanTempDirs, tempDir, writeTree } from './helpers';

const project = (extra = '') => `config_version=4\n\n[application]\n\nconfig/name="Check"\nrun/main_scene="res://main.tscn"\n${extra}`;
const scene = (res: string, type: string, node: string, prop: string) =>
  `[gd_scene load_steps=2 format=2]\n\n[ext_resource path="${res}" type="${type}" id=1]\n\n` +
  `[node name="N" type="${node}"]\n${prop} = ExtResource( 1 )\n`;
const HELLO = { 'project.godot': project(), 'main.tscn': scene('res://main.gd', 'Script', 'Node', 'script'), 'main.gd': 'extends Node\n' };

/** Runs the checker on a project with Debian's Godot 3.2.3, as the exporter does, and reads its log. */
function check(files: Record<string, string>) {
  const dir = tempDir('godot-check');
  writeTree(dir, files);
  const settings = readProjectSettings(files['project.godot']);
  // A fresh home, as on a new CI runner: Godot 3.2.3 then prints a harmless make_dir_recursive error first.
  const home = tempDir('godot-home');
  const script = join(tempDir('godot-checker'), 'check.gd');
  const autoloads = settings.autoloads.map((a) => a.value).filter((v) => v.endsWith('.gd'));
  writeFileSync(script, checkerScript(3, checkedFiles(projectFiles(dir)), autoloads));
  const logFile = join(home, 'check.log');
  const fd = openSync(logFile, 'w');
  const env = { PATH: process.env.PATH, HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home, XDG_CACHE_HOME: home };
  try {
    spawnSync('godot3-server', ['--path', dir, '-s', script], { stdio: ['ignore', fd, fd], env, timeout: 60_000 });
  } finally {
    closeSync(fd);
  }
  const log = readFileSync(logFile, 'utf8');
  const known = settingProblems(dir, settings);
  return { log, known, ...readCheckLog(log, dir, known) };
}

test('a clean project passes the real check', () => {
  const r = check(HELLO);
  assert.match(r.log, 'Godot Engine v3.2.3');
  assert.match(r.log, 'ERROR: make_dir_recursive: Method failed', 'the fresh home shows the engine harmless error');
  assert.equal([r.known, r.problems, r.done], [[], [], true]);
});

test('a GDScript parse error names the script, the engine line and the message', () => {
  const r = check({ ...HELLO, 'main.gd': 'extends Node\n\nfunc _ready():\n\tvar x = )\n\tpass\n' });
  const message = "does not compile: Parse Error: Error parsing expression, misplaced: ')'";
  assert.equal(r.problems, [{ res: 'res://main.gd', line: 4, message }]);
  assert.is(r.done, true);
  // Killed before it finished: the same log without its last marker.
  const cut = readCheckLog(r.log.slice(0, r.log.indexOf('SPACETIME_CHECK_DONE')), '/nowhere');
  assert.equal(cut, { problems: [{ res: 'res://main.gd', line: 4, message }], done: false });
});

test('a missing script or .tres is reported at the ext_resource line, not again on its own', () => {
  const r = check({
    ...HELLO,
    'broken.tscn': scene('res://x.gd', 'Script', 'Node', 'script'),
    'themed.tscn': scene('res://gone.tres', 'Theme', 'Control', 'theme'),
  });
  assert.match(r.log, 'ERROR: poll: res://broken.tscn:3 - Parse Error: [ext_resource] referenced nonexistent resource at: res://x.gd');
  assert.equal(r.problems, [
    { res: 'res://broken.tscn', line: 3, message: 'references res://x.gd, which does not exist' },
    { res: 'res://themed.tscn', line: 3, message: 'references res://gone.tres, which does not exist' },
  ]);
});

test('an autoload naming a missing file is a setting problem, with no engine duplicate', () => {
  const r = check({ ...HELLO, 'project.godot': project('\n[autoload]\n\nGhost="*res://ghost.gd"\n') });
  assert.match(r.log, "Can't autoload: res://ghost.gd");
  assert.equal(r.known, [{ res: 'res://project.godot', line: 10, message: 'autoload Ghost names res://ghost.gd, which does not exist' }]);
  assert.equal([r.problems, r.done], [[], true]);
});

test('an autoload that extends Reference is no Node', () => {
  const r = check({ ...HELLO, 'project.godot': project('\n[autoload]\n\nRef="*res://ref.gd"\n'), 'ref.gd': 'extends Reference\n' });
  assert.match(r.log, 'Script does not inherit a Node: res://ref.gd');
  assert.equal(r.problems, [{ res: 'res://ref.gd', line: undefined, message: 'is an autoload but extends Reference, not Node' }]);
});

test('reads a Godot 4 check log', () => {
  // Godot 4 is not packaged here: this text is a stand-in written from Godot 4's message format.
  const log = `Godot Engine v4.5.1.stable.official.f62fdbde1 - https://godotengine.org

SPACETIME_CHECK res://a.gd
SCRIPT ERROR: Parse Error: Expected end of statement after variable declaration, found "Identifier" instead.
          at: GDScript::reload (res://a.gd:12)
ERROR: Failed to load script "res://a.gd" with error "Parse error".
   at: load (modules/gdscript/gdscript.cpp:2907)
SPACETIME_CHECK_FAIL res://a.gd\tdoes not compile\t
SPACETIME_CHECK_DONE 1
`;
  const message = 'does not compile: Parse Error: Expected end of statement after variable declaration, found "Identifier" instead.';
  assert.equal(readCheckLog(log, '/nowhere'), { problems: [{ res: 'res://a.gd', line: 12, message }], done: true });
  assert.ok(checkerScript(4, [], []).includes('FileAccess.file_exists'));
});

test('reads error messages, their location and text', () => {
  const [error] = logErrors("SCRIPT ERROR: GDScript::reload: Parse Error: misplaced: ')'\n   At: res://lib/a.gdc:7.\nnext line\n");
  assert.is(error, "SCRIPT ERROR: GDScript::reload: Parse Error: misplaced: ')'\n    At: res://lib/a.gdc:7.");
  assert.equal(errorLocation(error), { path: 'lib/a.gd', line: 7 });
  assert.is(errorText(error), "Parse Error: misplaced: ')'");
  assert.is(errorText('ERROR: poll: res://b.tscn:3 - Parse Error: [ext_resource] referenced'), 'Parse Error: [ext_resource] referenced');
  assert.is(errorLocation('ERROR: Cannot open file.'), undefined);
});

test('lists project files as the engine and the export filter do', () => {
  const dir = tempDir('godot-files');
  const tree = ['project.godot', 'main.gd', 'src/tests/keep.gd', 'tests/test_a.gd', 'addons/GdUnit4/bin/run.gd', 'addons/other/b.tscn'];
  const skipped = ['.godot/x.gd', '.import/y.res', 'raw/.gdignore', 'raw/z.gd', 'conf/secret1.cfg', 'NOTES.TXT'];
  writeTree(dir, Object.fromEntries([...tree, ...skipped, 'icon.png'].map((f) => [f, ''])));
  const files = projectFiles(dir, 'tests/*, addons/gdUnit4/* ,,secret?.cfg,*.txt');
  assert.equal(files, ['res://addons/other/b.tscn', 'res://icon.png', 'res://main.gd', 'res://project.godot', 'res://src/tests/keep.gd']);
  assert.equal(checkedFiles(files), ['res://addons/other/b.tscn', 'res://main.gd', 'res://src/tests/keep.gd']);
  assert.is(projectFiles(dir).length, 9);
  assert.is(hasUnimportedAssets(dir, files), true);
  writeTree(dir, { 'icon.png.import': '' });
  assert.is(hasUnimportedAssets(dir, files), false);
  writeTree(dir, { 'scene.tscn': '[gd_scene]\n\n[ext_resource path="res://x.gd"]\n' });
  assert.equal(
    [lineOf(join(dir, 'scene.tscn'), 'res://x.gd'), lineOf(join(dir, 'scene.tscn'), 'y'), lineOf(join(dir, 'no'), 'x')],
    [3, undefined, undefined],
  );
});

test('reads project settings with their lines and the user data folder', () => {
  const text = `; Engine configuration file.
config_version=4

[application]

config/name="Game"
run/main_scene="res://menu.tscn"
config/custom_user_dir_name="game_data"

[autoload]

Net="*res://net/net.gd"
Scores="res://scores.tscn"

[rendering]

run/main_scene="res://other.tscn"
`;
  const settings = readProjectSettings(text);
  assert.equal(settings, {
    autoloads: [
      { key: 'Net', value: 'res://net/net.gd', line: 12 },
      { key: 'Scores', value: 'res://scores.tscn', line: 13 },
    ],
    mainScene: { key: 'run/main_scene', value: 'res://menu.tscn', line: 7 },
  });
  assert.equal(settingProblems('/nowhere', readProjectSettings('config_version=4\n')), [
    { res: 'res://project.godot', message: 'sets no main scene (application/run/main_scene)' },
  ]);
});

test('judges a smoke run', () => {
  const ready = /SPACETIME_FIXTURE 1\.0\.0 ready/;
  const ok = { code: 0, timedOut: false, stopped: false };
  const out = 'Godot Engine v3.2.3.stable.custom_build - https://godotengine.org\nSPACETIME_FIXTURE 1.0.0 ready sum=285\n';
  // Real lines of Godot 3.2.3 on a machine without sound card or locale.
  const harmless = `ERROR: init_device: Condition "status < 0" is true. Returned: ERR_CANT_OPEN
   At: drivers/alsa/audio_driver_alsa.cpp:83.
ERROR: get_language_code: Invalid locale 'C'.
   At: core/translation.cpp:945.
ERROR: set_locale: Unsupported locale 'C', falling back to 'en'.
   At: core/translation.cpp:969.
`;
  const scriptError = "SCRIPT ERROR: Invalid call. Nonexistent function 'x' in base 'Nil'.\n   At: res://main.gd:9.\n";
  assert.equal(judgeSmoke(out, ok, ready, 30), []);
  assert.equal(judgeSmoke(harmless + out, ok, ready, 30), []);
  assert.equal(judgeSmoke('Godot Engine\n', ok, ready, 30), ['never printed its ready line (SPACETIME_FIXTURE 1\\.0\\.0 ready)']);
  assert.equal(judgeSmoke('', { code: 137, timedOut: true, stopped: false }, ready, 30), ['did not start within 30 s']);
  assert.equal(judgeSmoke(out, { code: 137, timedOut: true, stopped: false }, ready, 30), [
    'printed its ready line but did not quit within 30 s',
  ]);
  assert.equal(judgeSmoke(out, { ...ok, code: 1 }, ready, 30), ['exited with code 1']);
  assert.equal(judgeSmoke(out + scriptError, { code: 143, timedOut: false, stopped: true }, ready, 30), [
    "printed SCRIPT ERROR: Invalid call. Nonexistent function 'x' in base 'Nil'.\n    At: res://main.gd:9.",
  ]);
});

test('puts the version into the ready pattern escaped', () => {
  const ready = readyPattern('SPACETIME_FIXTURE {{version}} ready', '2.5.0');
  assert.equal([ready.test('SPACETIME_FIXTURE 2.5.0 ready sum=285'), ready.test('SPACETIME_FIXTURE 2x5y0 ready')], [true, false]);
  const special = readyPattern('^server \\d+ up \\({{version}}\\)$', '1.0.0-rc.1+b2');
  assert.equal([special.test('server 42 up (1.0.0-rc.1+b2)'), special.test('server x up (1.0.0-rc.1+b2)')], [true, false]);
});

test('builds the smoke command lines', () => {
  const t: SmokeTarget = { major: 4, engine: '/g4', artifact: '/out/server', pack: false, args: ['--smoke'], display: false };
  assert.equal(smokeCommand(t), { command: '/out/server', args: ['--headless', '--smoke'] });
  const pack4 = { ...t, artifact: '/out/server.pck', pack: true };
  assert.equal(smokeCommand(pack4), { command: '/g4', args: ['--headless', '--main-pack', '/out/server.pck', '--smoke'] });
  const pack3 = { ...pack4, major: 3, engine: '/g3' };
  const headless = { ...pack3, headlessRuntime: '/usr/bin/godot3-server' };
  assert.equal(smokeCommand(headless), { command: '/usr/bin/godot3-server', args: ['--main-pack', '/out/server.pck', '--smoke'] });
  assert.equal(smokeCommand({ ...pack3, display: true }), {
    command: '/g3',
    args: ['--no-window', '--main-pack', '/out/server.pck', '--smoke'],
  });
  assert.equal(smokeCommand(pack3), {
    command: 'xvfb-run',
    args: ['-a', '/g3', '--no-window', '--main-pack', '/out/server.pck', '--smoke'],
  });
  assert.equal(smokeCommand({ ...headless, artifact: '/out/server', pack: false, display: true }), {
    command: '/out/server',
    args: ['--no-window', '--smoke'],
  });
});

test.after(cleanTempDirs);
test.run();
