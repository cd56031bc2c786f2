import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative } from 'node:path';
import { ArtifactFile, writeArtifactSet } from '../section/artifact-set';
import { EXECUTABLE_MODE, FILE_MODE } from '../format/determinism';
import { ReleaseError } from '../support/errors';
import { Skip } from '../format/fragment';

/**
 * Godot exports, judged by their results: Godot exits 0 on many failures (a missing template, a
 * script error, an unknown preset in some versions), so success means the preset exists, the
 * log holds no error, and the output file was written by this run.
 */

export type ExportMode = 'release' | 'debug' | 'pack';

export interface ExportPreset {
  name: string;
  platform: string;
  exportPath: string;
  /** `binary_format/embed_pck`: the pack is inside the binary. */
  embedPck: boolean;
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

export interface CommandLine {
  command: string;
  args: string[];
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
  if (major >= 4) {
    const flag = { release: '--export-release', debug: '--export-debug', pack: '--export-pack' }[mode];
    return { command: binary, args: ['--headless', '--path', projectDir, flag, preset, output] };
  }
  const flag = { release: '--export', debug: '--export-debug', pack: '--export-pack' }[mode];
  const args = ['--no-window', '--path', projectDir, flag, preset, output];
  // Godot 3's editor needs an X display even with --no-window.
  return display ? { command: binary, args } : { command: 'xvfb-run', args: ['-a', binary, ...args] };
}

/** Godot 4 imports a project on first open; an export of a never-imported project misses resources. */
export function importCommand(binary: string, projectDir: string): CommandLine {
  return { command: binary, args: ['--headless', '--path', projectDir, '--import'] };
}

export function needsImport(projectDir: string, major: number): boolean {
  return major >= 4 && !existsSync(join(projectDir, '.godot'));
}

/**
 * Log lines that are errors in every export but not about the export: no sound card, the C
 * locale, Godot 3.2 probing optional keys of export_presets.cfg. Any other `ERROR:` fails it.
 */
const HARMLESS = [
  /audio_driver|AudioDriver|ALSA|PulseAudio|audio drivers? failed/i,
  /(get_language_code|set_locale): (Invalid|Unsupported) locale/,
  /get_value: Couldn't find the given section "preset\.\d+(\.options)?" and key "[^"]+", and no default was given/,
];

/** The error messages in a Godot log, each with its continuation lines; harmless ones excluded. */
export function logErrors(log: string): string[] {
  const lines = log.split(/\r?\n/);
  const errors: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!/^\s*(?:SCRIPT ERROR|USER ERROR|ERROR|Parse Error|FATAL)\b:?/i.test(line) || /^\s*ERROR\s*$/.test(line)) continue;
    const message = [line.trim()];
    for (let j = i + 1; j < lines.length && j <= i + 6; j++) {
      const next = lines[j];
      if (next.trim() === '' || /^\s*(?:SCRIPT ERROR|USER ERROR|ERROR|WARNING|Parse Error)\b/.test(next)) break;
      message.push(next.trim());
      i = j;
      if (/^\s*At: /.test(next)) break;
    }
    const text = message.join('\n    ');
    if (!HARMLESS.some((h) => h.test(text))) errors.push(text);
  }
  return errors;
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

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
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

export interface GodotExportOptions {
  workspaceRoot: string;
  /** Absolute folder holding project.godot and export_presets.cfg. */
  projectDir: string;
  preset: string;
  mode: ExportMode;
  /** Absolute output folder; emptied first. */
  outputDir: string;
  /** File name of the exported binary (or pack, `<name>.pck`, in pack mode). */
  name: string;
  version: string;
  godot?: string;
  timeoutSeconds: number;
  /** Production: a missing engine is an error. Development: a recorded skip. */
  production: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface GodotExportResult {
  files: ArtifactFile[];
  skipped: Skip[];
  godotVersion?: string;
  logFile: string;
}

export const EXPORT_LOG = 'godot-export.log';

/** Runs the export and writes the output folder with its artifacts.json. */
export async function exportGodotProject(o: GodotExportOptions): Promise<GodotExportResult> {
  const env = o.env ?? process.env;
  const say = o.log ?? (() => undefined);
  const shown = (p: string) => relative(o.workspaceRoot, p) || '.';
  const presetsFile = join(o.projectDir, 'export_presets.cfg');
  const projectFile = join(o.projectDir, 'project.godot');
  if (!existsSync(projectFile)) throw new ReleaseError('is not a Godot project (no project.godot)', { file: shown(o.projectDir) });
  if (!existsSync(presetsFile))
    throw new ReleaseError('is missing: the project has no export presets', {
      file: shown(presetsFile),
      hint: 'create them in the editor (Project > Export)',
    });
  const presets = parseExportPresets(readFileSync(presetsFile, 'utf8'));
  const preset = presets.find((p) => p.name === o.preset);
  if (!preset) {
    throw new ReleaseError(`has no export preset "${o.preset}"; it has: ${presets.map((p) => `"${p.name}"`).join(', ') || 'none'}`, {
      file: shown(presetsFile),
    });
  }

  rmSync(o.outputDir, { recursive: true, force: true });
  mkdirSync(o.outputDir, { recursive: true });
  const logFile = join(o.outputDir, EXPORT_LOG);
  const versionFile: ArtifactFile = { path: 'VERSION.txt', mode: FILE_MODE };
  writeFileSync(join(o.outputDir, versionFile.path), `${o.version}\n`, { mode: FILE_MODE });
  chmodSync(join(o.outputDir, versionFile.path), FILE_MODE);

  const required = requiredGodot(readFileSync(projectFile, 'utf8'));
  const found = findGodot(o.godot, env, required.major);
  const mainFile = o.mode === 'pack' ? `${o.name}.pck` : o.name;
  if ('reason' in found) {
    if (o.production) throw new ReleaseError(`cannot export the server: ${found.reason}`, { file: shown(o.projectDir) });
    writeFileSync(logFile, `${found.reason}\n`);
    const skipped = [{ artifact: mainFile, reason: found.reason }];
    await writeArtifactSet(o.outputDir, {
      files: [versionFile],
      skipped,
      metadata: { godot: { preset: o.preset, mode: o.mode, version: null } },
    });
    return { files: [versionFile], skipped, logFile };
  }
  if (required.minor !== undefined && found.version.minor < required.minor) {
    say(`WARNING the project targets Godot ${required.major}.${required.minor}, exporting with ${found.version.full}`);
  }
  say(`Godot ${found.version.full} (${found.binary}, from ${found.from}): exporting preset "${o.preset}" (${o.mode})`);

  const output = join(o.outputDir, mainFile);
  if (!isAbsolute(output)) throw new Error('output must be absolute');
  const display = Boolean(env.DISPLAY);
  const logStream = createWriteStream(logFile);
  const started = Date.now();
  try {
    if (needsImport(o.projectDir, found.version.major)) {
      say('the project was never imported: running the import pass first');
      await runLogged(importCommand(found.binary, o.projectDir), env, logStream, o.timeoutSeconds, 'import', shown(logFile));
    }
    const command = exportCommand(found.binary, found.version.major, o.projectDir, o.preset, o.mode, output, display);
    const code = await runLogged(command, env, logStream, o.timeoutSeconds, 'export', shown(logFile));
    await new Promise((resolve) => logStream.end(resolve));
    const log = readFileSync(logFile, 'utf8');
    const problems = logErrors(log).map((e) => `log: ${e}`);
    if (code !== 0) problems.unshift(`Godot exited with ${code}`);
    problems.push(...checkOutput(output, mainFile, started));
    const files: ArtifactFile[] = [versionFile, { path: mainFile, mode: o.mode === 'pack' ? FILE_MODE : EXECUTABLE_MODE }];
    if (o.mode !== 'pack' && !preset.embedPck) {
      files.push({ path: `${o.name}.pck`, mode: FILE_MODE });
      problems.push(...checkOutput(join(o.outputDir, `${o.name}.pck`), `${o.name}.pck`, started));
    }
    if (problems.length) {
      throw new ReleaseError(`Godot export of preset "${o.preset}" failed:\n  - ${problems.join('\n  - ')}`, {
        file: shown(o.projectDir),
        hint: `full log: ${shown(logFile)}`,
      });
    }
    for (const f of files) chmodSync(join(o.outputDir, f.path), f.mode);
    await writeArtifactSet(o.outputDir, {
      files,
      skipped: [],
      metadata: { godot: { preset: o.preset, mode: o.mode, version: found.version.full } },
    });
    return { files, skipped: [], godotVersion: found.version.full, logFile };
  } finally {
    logStream.end();
  }
}

function checkOutput(file: string, name: string, started: number): string[] {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return [`Godot wrote no ${name}`];
  }
  if (!stat.isFile() || stat.size === 0) return [`${name} is empty`];
  // Whole-second file systems round down: allow one second.
  if (stat.mtimeMs < started - 1000) return [`${name} was not written by this run`];
  return [];
}

/** Runs a command in its own process group, appending its output to the log; kills the group on timeout. */
function runLogged(
  command: CommandLine,
  env: NodeJS.ProcessEnv,
  log: NodeJS.WritableStream,
  timeoutSeconds: number,
  what: string,
  logShown: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    log.write(`$ ${[command.command, ...command.args].map((a) => (/^[\w./:=@+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}\n`);
    const child = spawn(command.command, command.args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutSeconds * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new ReleaseError(`cannot run ${command.command}: ${e.message}`, {
          hint: command.command === 'xvfb-run' ? 'install xvfb (Debian: apt-get install xvfb xauth) or set DISPLAY' : undefined,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new ReleaseError(`Godot ${what} did not finish within ${timeoutSeconds} s and was stopped (process group killed)`, {
            file: logShown,
            hint: 'see this log; raise the timeout option if the project is large',
          }),
        );
        return;
      }
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}
