import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A STAND-IN for Godot 4, which Debian does not package: a script named `godot` that accepts
 * exactly the command lines Godot 4 takes for a headless export and fails on anything else.
 *   godot --version
 *   godot --headless --path <project> --import
 *   godot --headless --path <project> --export-release|--export-debug|--export-pack <preset> <absolute path>
 * The export also requires that the project was imported first, the preset exists in
 * export_presets.cfg and the output folder exists (Godot 4 does not create it). It then writes
 * a small shell program as the "binary" (so a container can run it), or misbehaves as
 * STANDIN_GODOT_FAULT says, the way real Godot does:
 *   error      exits 0 with an ERROR line in the log (the output is written anyway)
 *   no-output  exits 0 and writes nothing
 *   hang       never ends; starts a child (its pid in STANDIN_GODOT_CHILD_PID) that must die with it
 * Every call is appended to STANDIN_GODOT_CALLS when set.
 */
export function writeGodot4StandIn(dir: string, version = '4.5.1.stable.official.0standin'): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'godot');
  // The script's lines longer than 140 columns are split into template pieces joined by +.
  writeFileSync(
    file,
    `#!/usr/bin/env node
// Godot 4 STAND-IN written by a test (libs/release-kit/test/godot-stand-in.ts). Not Godot.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const args = process.argv.slice(2);
if (process.env.STANDIN_GODOT_CALLS) fs.appendFileSync(process.env.STANDIN_GODOT_CALLS, JSON.stringify(args) + '\\n');
const refuse = (why) => { console.error('ERROR: Godot 4 stand-in: ' + why + ' (args: ' + JSON.stringify(args) + ')'); process.exit(1); };
if (args.length === 1 && args[0] === '--version') { console.log(${JSON.stringify(version)}); process.exit(0); }
if (args[0] !== '--headless' || args[1] !== '--path' || !args[2]) refuse('expected --headless --path <project> first');
const project = args[2];
if (!fs.existsSync(path.join(project, 'project.godot'))) refuse('no project.godot in ' + project);
if (args.length === 4 && args[3] === '--import') {
  fs.mkdirSync(path.join(project, '.godot'), { recursive: true });
  console.log('[ DONE ] first_scan_filesystem');
  process.exit(0);
}
if (args.length !== 6 || !['--export-release', '--export-debug', '--export-pack'].includes(args[3])) ` +
      `refuse('not a Godot 4 export command line');
const [, , , flag, preset, output] = args;
if (!fs.existsSync(path.join(project, '.godot'))) refuse('the project was never imported (run --import first)');
const presets = [...fs.readFileSync(path.join(project, 'export_presets.cfg'), 'utf8').matchAll(/^name="(.*)"$/gm)].map((m) => m[1]);
if (!presets.includes(preset)) { console.log('ERROR: Invalid export preset name: ' + preset + '.'); process.exit(0); }
if (!path.isAbsolute(output)) refuse('the stand-in wants an absolute output path');
if (!fs.existsSync(path.dirname(output))) { console.log('ERROR: Cannot create file "' + output + '".'); process.exit(0); }
const fault = process.env.STANDIN_GODOT_FAULT || '';
console.log('Godot Engine v${version} - https://godotengine.org (STAND-IN)');
if (fault === 'hang') {
  const child = spawn('sleep', ['3600'], { stdio: 'ignore' });
  if (process.env.STANDIN_GODOT_CHILD_PID) fs.writeFileSync(process.env.STANDIN_GODOT_CHILD_PID, String(child.pid));
  setInterval(() => {}, 1000);
  return;
}
if (fault !== 'no-output') {
  fs.writeFileSync(output, '#!/bin/sh\\n` +
      `echo "spacetime-server $(cat /opt/spacetime/VERSION.txt) preset=' + preset + ' mode=' + flag + ' args=$*"\\n', { mode: 0o700 });
}
console.log('savepack: end');
if (fault === 'error') console.log('ERROR: Project export for preset "' + preset + '" failed.\\n` +
      `   at: export_project (editor/export/editor_export_platform.cpp:123)');
process.exit(0);
`,
  );
  chmodSync(file, 0o755);
  return dir;
}
