import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommandLine } from './engine-process';
import { engineCommand } from './godot';
import { errorLocation, errorText, logErrors } from './godot-log';
import { lineOf, ProjectSettings, resPath } from './godot-project';

/**
 * The project check before an export: the engine itself loads every script, scene and resource
 * the export takes, in one process, through a checker script run with `-s`. The checker prints
 * one marker line per file and one per problem it judges (a missing dependency, a script that does
 * not compile, an autoload that is no Node); the engine prints its own errors between the
 * markers with their file and line. Both are read back into problems naming file and line.
 */

export const CHECK_MARK = 'SPACETIME_CHECK';
export const CHECK_FAIL = 'SPACETIME_CHECK_FAIL';
export const CHECK_DONE = 'SPACETIME_CHECK_DONE';

/** What differs between the engines' script APIs. */
const API = {
  3: { fileExists: 'File.new().file_exists', noCache: 'true', canInstance: 'can_instance' },
  4: { fileExists: 'FileAccess.file_exists', noCache: 'ResourceLoader.CACHE_MODE_IGNORE', canInstance: 'can_instantiate' },
};

/** The checker for a Godot major version, holding the files to load and the autoload scripts. */
export function checkerScript(major: number, files: string[], autoloads: string[]): string {
  const api = API[major >= 4 ? 4 : 3];
  return `extends SceneTree
# Written for one project check by @spacetime/release-kit (build/godot-check.ts); not part of the project.

var files = ${JSON.stringify(files)}
var autoloads = ${JSON.stringify(autoloads)}


func _init():
	for path in files:
		print("${CHECK_MARK} " + path)
		_check(path)
	for path in autoloads:
		print("${CHECK_MARK} " + path)
		var script = ResourceLoader.load(path)
		if script is Script and script.${api.canInstance}() and not ClassDB.is_parent_class(script.get_instance_base_type(), "Node"):
			_fail(path, "is an autoload but extends " + script.get_instance_base_type() + ", not Node", "")
	print("${CHECK_DONE} " + str(files.size()))
	quit(0)


func _check(path):
	for dependency in ResourceLoader.get_dependencies(path):
		var needed = _res_path(dependency)
		if needed.begins_with("res://") and not ${api.fileExists}(needed):
			_fail(path, "references " + needed + ", which does not exist", needed)
	var resource = ResourceLoader.load(path, "", ${api.noCache})
	if resource == null:
		_fail(path, "does not load", "")
	elif (resource is Script or resource is PackedScene) and not resource.${api.canInstance}():
		_fail(path, "does not compile" if resource is Script else "cannot be instanced", "")


# Godot 3 lists a dependency as "res://path" or "res://path::Type", Godot 4 also as "uid://...::Type::res://path".
func _res_path(dependency):
	for part in dependency.split("::"):
		if part.begins_with("res://"):
			return part
	return dependency


func _fail(path, reason, needle):
	print("${CHECK_FAIL} " + path + "\\t" + reason + "\\t" + needle)
`;
}

/** The command that runs the checker; `script` is an absolute path outside the project. */
export function checkCommand(binary: string, major: number, projectDir: string, script: string, display: boolean): CommandLine {
  return engineCommand(binary, major, ['--path', projectDir, '-s', script], display);
}

export interface ProjectProblem {
  /** res:// path of the file at fault. */
  res: string;
  line?: number;
  message: string;
}

/** What project.godot names that does not exist: the main scene and autoload scripts. */
export function settingProblems(projectDir: string, settings: ProjectSettings): ProjectProblem[] {
  const problems: ProjectProblem[] = [];
  const missing = (res: string) => !res.startsWith('res://') || !existsSync(join(projectDir, resPath(res)));
  if (!settings.mainScene) problems.push({ res: 'res://project.godot', message: 'sets no main scene (application/run/main_scene)' });
  else if (missing(settings.mainScene.value))
    problems.push({
      res: 'res://project.godot',
      line: settings.mainScene.line,
      message: `the main scene ${settings.mainScene.value} does not exist`,
    });
  for (const a of settings.autoloads)
    if (missing(a.value))
      problems.push({ res: 'res://project.godot', line: a.line, message: `autoload ${a.key} names ${a.value}, which does not exist` });
  return problems;
}

interface Block {
  res?: string;
  lines: string[];
  fails: Array<{ reason: string; needle: string }>;
}

/**
 * The problems in a checker run's log: first what the checker judged, then each engine error
 * about a file that has no problem yet (by its `res://path:line`, else by the res:// path it
 * names). Follow-on errors naming no file are reported only when nothing else explains the
 * failure. `known` are problems found before the engine ran. `done` is false when the checker
 * never finished.
 */
export function readCheckLog(log: string, projectDir: string, known: ProjectProblem[] = []): { problems: ProjectProblem[]; done: boolean } {
  const blocks: Block[] = [{ lines: [], fails: [] }];
  let done = false;
  for (const line of log.split(/\r?\n/)) {
    const fail = new RegExp(`^${CHECK_FAIL} (res://[^\\t]+)\\t([^\\t]*)\\t?(.*)$`).exec(line);
    const mark = new RegExp(`^${CHECK_MARK} (res://.*)$`).exec(line);
    if (fail) blocks[blocks.length - 1].fails.push({ reason: fail[2], needle: fail[3] });
    else if (mark) blocks.push({ res: mark[1], lines: [], fails: [] });
    else if (line.startsWith(`${CHECK_DONE} `)) done = true;
    else blocks[blocks.length - 1].lines.push(line);
  }
  const problems: ProjectProblem[] = [];
  const errors = blocks.map((block) => logErrors(block.lines.join('\n')));
  blocks.forEach((block, i) => {
    const res = block.res ?? 'res://project.godot';
    // A missing dependency also makes the file fail to load: the dependency is the cause.
    const missingDependency = block.fails.some((f) => f.needle);
    for (const fail of block.fails) {
      if (missingDependency && !fail.needle) continue;
      const located = errors[i].find((e) => errorLocation(e)?.path === resPath(res));
      const line = fail.needle ? lineOf(join(projectDir, resPath(res)), fail.needle) : located ? errorLocation(located)!.line : undefined;
      problems.push({ res, line, message: !fail.needle && located ? `${fail.reason}: ${errorText(located)}` : fail.reason });
    }
  });
  const explained = (res: string) => [...problems, ...known].some((p) => p.res === res || p.message.includes(res));
  const unexplained: ProjectProblem[] = [];
  blocks.forEach((block, i) => {
    for (const error of errors[i]) {
      const at = errorLocation(error);
      const named = at ? `res://${at.path}` : mentionedPath(error);
      if (!named) unexplained.push({ res: block.res ?? 'res://project.godot', message: errorText(error) });
      else if (!explained(named)) problems.push({ res: named, line: at?.line, message: errorText(error) });
    }
  });
  if (!problems.length && !known.length) problems.push(...unexplained);
  return { problems: dedupe(problems), done };
}

/** The res:// path an error names: quoted (it may hold spaces), else up to the first space. */
function mentionedPath(error: string): string | undefined {
  return /'(res:\/\/[^']+)'/.exec(error)?.[1] ?? /res:\/\/\S*[^\s'".,]/.exec(error)?.[0];
}

function dedupe(problems: ProjectProblem[]): ProjectProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.res}:${p.line}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
