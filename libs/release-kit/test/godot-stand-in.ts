import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A STAND-IN for Godot 4, which Debian does not package (the real-engine path is Godot 3, in
 * workspace-tests/godot3.test.ts): godot4-stand-in.cjs, installed as `godot`, accepts exactly the
 * command lines Godot 4 takes for a headless check and export, and fails on anything else.
 *   godot --version
 *   godot --headless --path <project> --import
 *   godot --headless --path <project> -s <checker script>
 *   godot --headless --path <project> --export-release|--export-debug|--export-pack <preset> <absolute path>
 * The check and export also require that the project was imported first; the export, that the
 * preset exists in export_presets.cfg and the output folder exists (Godot 4 does not create it).
 * It then writes a small shell program as the "binary" (so a busybox container can run it: the
 * server, its --smoke and --healthcheck), or misbehaves as STANDIN_GODOT_FAULT says, the way real
 * Godot does:
 *   error         the export exits 0 with an ERROR line in the log (the output is written anyway)
 *   no-output     the export exits 0 and writes nothing
 *   hang          the export never ends; starts a child (its pid in STANDIN_GODOT_CHILD_PID) that must die with it
 *   parse-error   the check prints Godot 4's parse error for the first script
 *   server-error  the exported server prints a SCRIPT ERROR at start
 * Every call is appended to STANDIN_GODOT_CALLS when set.
 */
export function writeGodot4StandIn(dir: string, version = '4.5.1.stable.official.0standin'): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'godot');
  writeFileSync(file, readFileSync(join(__dirname, 'godot4-stand-in.cjs'), 'utf8').replace('__VERSION__', version));
  chmodSync(file, 0o755);
  return dir;
}
