import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, posix } from 'node:path';

/**
 * What a Godot project holds, read from its files without the engine: the settings an engine
 * check needs (main scene, autoloads, each with its line in project.godot) and the files the
 * check loads.
 */

/** A `key=value` of project.godot, with its 1-based line. */
export interface ProjectSetting {
  key: string;
  value: string;
  line: number;
}

export interface ProjectSettings {
  mainScene?: ProjectSetting;
  /** `Name="*res://path"`: `value` is the res:// path without the `*` (which marks a singleton). */
  autoloads: ProjectSetting[];
}

export function readProjectSettings(text: string): ProjectSettings {
  let section = '';
  const settings: ProjectSettings = { autoloads: [] };
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1];
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || line.startsWith(';')) return;
    const key = line.slice(0, eq).trim();
    const value = line
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (section === 'application' && key === 'run/main_scene') settings.mainScene = { key, value, line: index + 1 };
    if (section === 'autoload') settings.autoloads.push({ key, value: value.replace(/^\*/, ''), line: index + 1 });
  });
  return settings;
}

/** Files the engine loads to check a project: scripts, scenes and text or binary resources. */
const CHECKED_EXTENSIONS = new Set(['.gd', '.tscn', '.scn', '.tres', '.res']);

/** Source files the engine imports before a scene can load them (Godot 3 keeps `<file>.import` beside each). */
const IMPORTED_EXTENSIONS = new Set([
  '.png', '.jpg', '.jpeg', '.webp', '.svg', '.tga', '.bmp', '.hdr', '.exr',
  '.wav', '.ogg', '.mp3', '.glb', '.gltf', '.obj', '.dae', '.fbx', '.escn', '.ttf', '.otf',
]); // prettier-ignore

/**
 * The project's files as res:// paths, sorted: hidden folders (.godot, .import, .git) and folders
 * holding a `.gdignore` are skipped, as the engine skips them; so is what an export preset's
 * `exclude_filter` leaves out.
 */
export function projectFiles(projectDir: string, excludeFilter = ''): string[] {
  const excluded = excludeFilter
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map(globToRegExp);
  const files: string[] = [];
  const walk = (dir: string, rel: string) => {
    if (existsSync(join(dir, '.gdignore'))) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(dir, entry.name), path);
      else if (entry.isFile() && !excluded.some((r) => r.test(path) || r.test(posix.basename(path)))) files.push(path);
    }
  };
  walk(projectDir, '');
  return files.sort().map((f) => `res://${f}`);
}

export function checkedFiles(files: string[]): string[] {
  return files.filter((f) => CHECKED_EXTENSIONS.has(extname(f)));
}

/** Whether a Godot 3 project has a source asset that was never imported (no `<file>.import`). */
export function hasUnimportedAssets(projectDir: string, files: string[]): boolean {
  return files.some((f) => IMPORTED_EXTENSIONS.has(extname(f).toLowerCase()) && !existsSync(join(projectDir, `${resPath(f)}.import`)));
}

/** `res://a/b.gd` → `a/b.gd`. */
export function resPath(res: string): string {
  return res.replace(/^res:\/\//, '');
}

/** Godot's filter wildcards: `*` any run of characters (slashes included), `?` one; case-insensitive. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** The 1-based line of the first occurrence of `needle` in a text file, if any. */
export function lineOf(file: string, needle: string): number | undefined {
  try {
    const index = readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .findIndex((l) => l.includes(needle));
    return index < 0 ? undefined : index + 1;
  } catch {
    return undefined;
  }
}
