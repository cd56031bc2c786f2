import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CommandLine } from './engine-process';
import { hasUnimportedAssets } from './godot-project';

/** The Godot engine and its projects' presets: which engine a project needs, where it is, and its command lines. */

export type ExportMode = 'release' | 'debug' | 'pack';

export interface ExportPreset {
  name: string;
  platform: string;
  exportPath: string;
  /** `binary_format/embed_pck`: the pack is inside the binary. */
  embedPck: boolean;
  /** Comma-separated wildcards of files the export leaves out. */
  excludeFilter: string;
  /** The preset's `[preset.N.options]` section, unquoted. */
  options: Record<string, string>;
}

/** The presets of an export_presets.cfg (Godot 3 and 4 write the same INI-like format). */
export function parseExportPresets(text: string): ExportPreset[] {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = {};
      sections.set(header[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current && eq > 0) current[line.slice(0, eq).trim()] = unquote(line.slice(eq + 1).trim());
  }
  const presets: ExportPreset[] = [];
  for (const [name, values] of sections) {
    const m = /^preset\.(\d+)$/.exec(name);
    if (!m || values.name === undefined) continue;
    const options = sections.get(`${name}.options`) ?? {};
    presets.push({
      name: values.name,
      platform: values.platform ?? '',
      exportPath: values.export_path ?? '',
      embedPck: options['binary_format/embed_pck'] === 'true',
      excludeFilter: values.exclude_filter ?? '',
      options,
    });
  }
  return presets;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
    return value.slice(1, -1).replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  return value;
}

export interface GodotVersion {
  /** As printed, e.g. `4.5.1.stable.official.f62fdbde1` or `3.2.3.stable.custom_build`. */
  full: string;
  major: number;
  minor: number;
}

export function parseGodotVersion(output: string): GodotVersion | undefined {
  for (const line of output.split(/\r?\n/)) {
    const m = /^(\d+)\.(\d+)(?:\.\d+)?\.[A-Za-z0-9_.-]+$/.exec(line.trim());
    if (m) return { full: line.trim(), major: Number(m[1]), minor: Number(m[2]) };
  }
  return undefined;
}

/** The engine a project needs: `config_version=5` is Godot 4 (features name the minor), 4 is Godot 3. */
export function requiredGodot(projectGodot: string): { major: number; minor?: number } {
  const configVersion = Number(/^config_version=(\d+)/m.exec(projectGodot)?.[1] ?? 0);
  const features = /^config\/features=PackedStringArray\(([^)]*)\)/m.exec(projectGodot)?.[1] ?? '';
  const feature = /"(\d+)\.(\d+)"/.exec(features);
  if (configVersion >= 5) return { major: 4, minor: feature ? Number(feature[2]) : undefined };
  return { major: 3 };
}

/**
 * A Godot command line: Godot 4 runs with `--headless`; Godot 3's engine needs an X display even
 * with `--no-window`, so without one it runs under `xvfb-run`.
 */
export function engineCommand(binary: string, major: number, args: string[], display: boolean): CommandLine {
  if (major >= 4) return { command: binary, args: ['--headless', ...args] };
  const all = ['--no-window', ...args];
  return display ? { command: binary, args: all } : { command: 'xvfb-run', args: ['-a', binary, ...all] };
}

/** The export command line for a Godot major version. `output` must be absolute. */
export function exportCommand(
  binary: string,
  major: number,
  projectDir: string,
  preset: string,
  mode: ExportMode,
  output: string,
  display: boolean,
): CommandLine {
  const flags =
    major >= 4
      ? { release: '--export-release', debug: '--export-debug', pack: '--export-pack' }
      : { release: '--export', debug: '--export-debug', pack: '--export-pack' };
  return engineCommand(binary, major, ['--path', projectDir, flags[mode], preset, output], display);
}

/**
 * The import pass: a never-imported project misses resources in its export and check. Godot 4
 * has `--import`; Godot 3's editor imports on opening, and `--quit` closes it after.
 */
export function importCommand(binary: string, major: number, projectDir: string, display: boolean): CommandLine {
  return engineCommand(
    binary,
    major,
    major >= 4 ? ['--path', projectDir, '--import'] : ['--path', projectDir, '--editor', '--quit'],
    display,
  );
}

/** Godot 4 keeps its import cache in `.godot/`; Godot 3 a `<file>.import` beside each imported asset. */
export function needsImport(projectDir: string, major: number, files: string[]): boolean {
  return major >= 4 ? !existsSync(join(projectDir, '.godot')) : hasUnimportedAssets(projectDir, files);
}

export interface FoundGodot {
  binary: string;
  version: GodotVersion;
  from: string;
}

/**
 * The Godot binary: the `godot` option, then GODOT_BIN, then `godot`, `godot4`, `godot3` on PATH.
 * An explicit one is used as given; on PATH the first whose major version the project needs wins.
 * Returns a reason when there is none to use.
 */
export function findGodot(option: string | undefined, env: NodeJS.ProcessEnv, requiredMajor: number): FoundGodot | { reason: string } {
  const explicit = option
    ? { binary: option, from: 'the godot option' }
    : env.GODOT_BIN
      ? { binary: env.GODOT_BIN, from: 'GODOT_BIN' }
      : undefined;
  const candidates = explicit
    ? [explicit]
    : ['godot', 'godot4', 'godot3'].flatMap((name) => {
        const path = onPath(name, env);
        return path ? [{ binary: path, from: `PATH (${name})` }] : [];
      });
  if (candidates.length === 0) {
    return { reason: `no Godot engine: set GODOT_BIN or put godot (Godot ${requiredMajor}) on PATH (looked for godot, godot4, godot3)` };
  }
  const seen: string[] = [];
  for (const c of candidates) {
    const r = spawnSync(c.binary, ['--version'], { encoding: 'utf8', env, timeout: 30_000 });
    const version = r.error ? undefined : parseGodotVersion(`${r.stdout}`);
    if (!version) {
      seen.push(`${c.binary} from ${c.from} does not answer --version like Godot${r.error ? ` (${r.error.message})` : ''}`);
      continue;
    }
    if (version.major === requiredMajor) return { ...c, version };
    seen.push(`${c.binary} from ${c.from} is Godot ${version.full}`);
  }
  return { reason: `the project needs Godot ${requiredMajor}: ${seen.join('; ')}` };
}

/**
 * Godot 3's headless runtime for running a pack without a display: `<engine>-server` beside the
 * engine (Debian's godot3 and godot3-server), else `godot3-server` on PATH. Godot 4 needs none.
 */
export function headlessRuntime(found: FoundGodot, env: NodeJS.ProcessEnv): string | undefined {
  if (found.version.major >= 4) return undefined;
  const beside = `${found.binary}-server`;
  try {
    if (statSync(beside).isFile()) return beside;
  } catch {
    // not beside the engine
  }
  return onPath('godot3-server', env);
}

/** An executable `name` in one of PATH's folders. */
export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      if (statSync(file).isFile() && (statSync(file).mode & 0o111) !== 0) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}
