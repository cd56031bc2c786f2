#!/usr/bin/env node
// Godot 4 STAND-IN, copied into place by libs/release-kit/test/godot-stand-in.ts. Not Godot.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const VERSION = '__VERSION__';
const args = process.argv.slice(2);
if (process.env.STANDIN_GODOT_CALLS) fs.appendFileSync(process.env.STANDIN_GODOT_CALLS, JSON.stringify(args) + '\n');
const fault = process.env.STANDIN_GODOT_FAULT || '';
const refuse = (why) => {
  console.error('ERROR: Godot 4 stand-in: ' + why + ' (args: ' + JSON.stringify(args) + ')');
  process.exit(1);
};

if (args.length === 1 && args[0] === '--version') {
  console.log(VERSION);
  process.exit(0);
}
if (args[0] !== '--headless' || args[1] !== '--path' || !args[2]) refuse('expected --headless --path <project> first');
const project = args[2];
if (!fs.existsSync(path.join(project, 'project.godot'))) refuse('no project.godot in ' + project);
if (args.length === 4 && args[3] === '--import') {
  fs.mkdirSync(path.join(project, '.godot'), { recursive: true });
  console.log('[ DONE ] first_scan_filesystem');
  process.exit(0);
}
if (!fs.existsSync(path.join(project, '.godot'))) refuse('the project was never imported (run --import first)');
console.log('Godot Engine v' + VERSION + ' - https://godotengine.org (STAND-IN)');

// The checker script (`-s <script>`): the stand-in cannot run GDScript, so it prints what the
// checker prints for a project that loads, or, under the "parse-error" fault, what Godot 4 prints
// for a script that does not parse.
if (args.length === 5 && args[3] === '-s') {
  const script = fs.readFileSync(args[4], 'utf8');
  const files = JSON.parse(/^var files = (.*)$/m.exec(script)[1]);
  for (const file of files) {
    console.log('SPACETIME_CHECK ' + file);
    if (fault === 'parse-error' && file.endsWith('.gd') && !files.done) {
      files.done = true;
      console.log('SCRIPT ERROR: Parse Error: Expected end of statement after expression, found "Identifier" instead.');
      console.log('          at: GDScript::reload (' + file + ':12)');
      console.log('ERROR: Failed to load script "' + file + '" with error "Parse error".');
      console.log('   at: load (modules/gdscript/gdscript.cpp:2936)');
      console.log('SPACETIME_CHECK_FAIL ' + file + '\tdoes not compile\t');
    }
  }
  console.log('SPACETIME_CHECK_DONE ' + files.length);
  process.exit(0);
}

if (args.length !== 6 || !['--export-release', '--export-debug', '--export-pack'].includes(args[3]))
  refuse('not a Godot 4 export command line');
const [, , , flag, preset, output] = args;
const presets = [...fs.readFileSync(path.join(project, 'export_presets.cfg'), 'utf8').matchAll(/^name="(.*)"$/gm)].map((m) => m[1]);
if (!presets.includes(preset)) {
  console.log('ERROR: Invalid export preset name: ' + preset + '.');
  process.exit(0);
}
if (!path.isAbsolute(output)) refuse('the stand-in wants an absolute output path');
if (!fs.existsSync(path.dirname(output))) {
  console.log('ERROR: Cannot create file "' + output + '".');
  process.exit(0);
}
if (fault === 'hang') {
  const child = spawn('sleep', ['3600'], { stdio: 'ignore' });
  if (process.env.STANDIN_GODOT_CHILD_PID) fs.writeFileSync(process.env.STANDIN_GODOT_CHILD_PID, String(child.pid));
  setInterval(() => {}, 1000);
  return;
}
// The "binary": a shell program a busybox container runs. --smoke prints the ready line and quits
// (under the "server-error" fault, a script error first); --healthcheck passes once the server
// mode has started; with no argument it is the server, running until stopped.
const startError =
  fault === 'server-error' ? "echo \"SCRIPT ERROR: Invalid access to property or key 'port' on a base object of type 'Nil'.\"\n" : '';
const server = `#!/bin/sh
version=$(cat VERSION.txt)
case " $* " in
  *" --smoke "*) ${startError}echo "SpaceTime VR server $version ready"; exit 0;;
  *" --healthcheck "*) [ -f /tmp/standin-server-up ]; exit $?;;
esac
echo "spacetime-server $version preset=${preset} mode=${flag} args=$*"
: > /tmp/standin-server-up
exec sleep 3600
`;
if (fault !== 'no-output') fs.writeFileSync(output, server, { mode: 0o700 });
console.log('savepack: end');
if (fault === 'error') {
  console.log('ERROR: Project export for preset "' + preset + '" failed.');
  console.log('   at: export_project (editor/export/editor_export_platform.cpp:123)');
}
process.exit(0);
