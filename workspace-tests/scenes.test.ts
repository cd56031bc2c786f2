import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, copyWorkspace, nx, tempDir } from './workspace';

// The binaries section ships the Godot project's sources beside the server: scripts, addons and
// scenes, each at its res:// path under binaries/, as the spec's package layout lists them.
const PROJECT = 'libs/sections/binaries/godot';
/** Resources a scene or script may name by res:// path; the project's own tests/ stay out, as in the export. */
const SHIPPED_KINDS = /\.(gd|tscn|scn|tres)$/;

function projectResources(root: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : [relative(root, join(dir, entry.name))],
    );
  return walk(root)
    .filter((path) => SHIPPED_KINDS.test(path) && !path.startsWith('tests/'))
    .sort();
}

let ws = '';
let env: NodeJS.ProcessEnv = {};
let packaged = new Set<string>();
const readFragment = () => JSON.parse(readFileSync(join(ws, 'dist/sections/binaries/fragment.json'), 'utf8')).files;

test.before(() => {
  ws = copyWorkspace('scenes');
  // No Godot 4 here: the export is skipped in development, the sources are packaged all the same.
  env = { GODOT_BIN: '', XDG_CONFIG_HOME: tempDir('keys') };
  const run = nx(ws, ['run', 'binaries:package', '--output-style=static'], env);
  assert.is(run.status, 0, run.output);
  packaged = new Set(readFragment().map((f: { path: string }) => f.path));
});
test.after(cleanUp);

test('every scene, script and resource of the Godot project ships at its res:// path under binaries/', () => {
  const resources = projectResources(join(ws, PROJECT));
  assert.ok(resources.includes('scenes/main.tscn'), resources.join(', '));
  const missing = resources.filter((path) => !packaged.has(`binaries/${path}`));
  assert.equal(missing, [], 'in the project but not in the package');
});

test('every res:// path a shipped scene names is in the package', () => {
  const scenes = [...packaged].filter((path) => path.endsWith('.tscn'));
  assert.ok(scenes.includes('binaries/scenes/main.tscn'), [...packaged].join(', '));
  for (const scene of scenes) {
    const text = readFileSync(join(ws, PROJECT, scene.replace(/^binaries\//, '')), 'utf8');
    const named = [...text.matchAll(/\bpath="res:\/\/([^"]+)"/g)].map((m) => m[1]);
    assert.ok(named.length > 0, `${scene} names no resource`);
    for (const path of named) assert.ok(packaged.has(`binaries/${path}`), `${scene} names res://${path}, which does not ship`);
  }
});

test('the scene ships byte for byte, and a new scene ships on the next package without a change to the section', () => {
  const entry = (files: Array<{ path: string; sha256: string; mode: number }>, path: string) => files.find((f) => f.path === path);
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  const source = readFileSync(join(ws, PROJECT, 'scenes/main.tscn'));
  const shipped = entry(readFragment(), 'binaries/scenes/main.tscn');
  assert.equal([shipped?.sha256, shipped?.mode], [sha256(source), 0o644]);

  const arena =
    '[gd_scene format=3]\n\n[ext_resource type="Script" path="res://scripts/server/server_main.gd" id="1"]\n\n[node name="Arena" type="Node"]\nscript = ExtResource("1")\n';
  mkdirSync(join(ws, PROJECT, 'scenes/levels'), { recursive: true });
  writeFileSync(join(ws, PROJECT, 'scenes/levels/arena.tscn'), arena);
  const run = nx(ws, ['run', 'binaries:package', '--output-style=static'], env);
  assert.is(run.status, 0, run.output);
  assert.is(entry(readFragment(), 'binaries/scenes/levels/arena.tscn')?.sha256, sha256(Buffer.from(arena)));
});

test.run();
