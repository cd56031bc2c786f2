import { chmodSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { ArtifactFile, writeArtifactSet } from '../section/artifact-set';
import { EXECUTABLE_MODE, FILE_MODE } from '../format/determinism';
import { Skip } from '../format/fragment';
import { VERSION_TOKEN } from '../format/version-token';
import { ReleaseError } from '../support/errors';
import { CommandLine, runProcess } from './engine-process';
import {
  ExportMode,
  exportCommand,
  ExportPreset,
  findGodot,
  FoundGodot,
  headlessRuntime,
  importCommand,
  needsImport,
  onPath,
  parseExportPresets,
  requiredGodot,
} from './godot';
import { checkCommand, checkerScript, ProjectProblem, readCheckLog, settingProblems } from './godot-check';
import { logErrors } from './godot-log';
import { checkedFiles, projectFiles, readProjectSettings } from './godot-project';
import { runSmoke, smokeCommand } from './godot-smoke';
import { emulatorFor, godotPresetPlatform, platformName } from './platform';

/**
 * A Godot export judged by running things, since Godot exits 0 on many failures (a script that
 * does not parse, a scene naming a missing script, a missing template):
 *   1. check: the engine loads every script, scene and resource the export takes;
 *   2. export: the preset exists, the log holds no error, the output was written by this run;
 *   3. smoke: the exported server starts headless, prints its ready line and quits cleanly.
 */

export interface GodotExportOptions {
  workspaceRoot: string;
  /** Absolute folder holding project.godot and export_presets.cfg. */
  projectDir: string;
  preset: string;
  /**
   * Presets of the server's other platforms (Linux presets, told apart by binary_format/architecture):
   * each is exported into `<os>/<arch>/` of the output folder (`linux/arm64/`), the main preset at its root.
   */
  platformPresets?: string[];
  mode: ExportMode;
  /** Absolute output folder; emptied first. */
  outputDir: string;
  /** File name of the exported binary (or pack, `<name>.pck`, in pack mode). */
  name: string;
  version: string;
  godot?: string;
  timeoutSeconds: number;
  /** Arguments that make the server boot, print its ready line and quit. */
  smokeArgs: string[];
  /** A regular expression for the ready line; `{{version}}` stands for the version, literally. */
  smokeReady: string;
  smokeTimeoutSeconds: number;
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

/** A platform the server was exported for: its preset, and the folder of the output that holds it ('' for the main preset). */
export interface ExportedPlatform {
  platform: string;
  preset: string;
  dir: string;
}

export const CHECK_LOG = 'godot-check.log';
export const EXPORT_LOG = 'godot-export.log';
export const SMOKE_LOG = 'godot-smoke.log';

/** The ready-line pattern with the version put in, escaped. */
export function readyPattern(pattern: string, version: string): RegExp {
  return new RegExp(pattern.split(VERSION_TOKEN).join(version.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
}

/** Runs check, export and smoke, and writes the output folder with its artifacts.json. */
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
  let ready: RegExp;
  try {
    ready = readyPattern(o.smokeReady, o.version);
  } catch (e) {
    throw new ReleaseError(`the smokeReady option is not a regular expression: ${(e as Error).message}`);
  }
  const targets = exportTargets(o, preset, presets, shown(presetsFile));

  rmSync(o.outputDir, { recursive: true, force: true });
  mkdirSync(o.outputDir, { recursive: true });
  const versionFile: ArtifactFile = { path: 'VERSION.txt', mode: FILE_MODE };
  writeFileSync(join(o.outputDir, versionFile.path), `${o.version}\n`, { mode: FILE_MODE });
  chmodSync(join(o.outputDir, versionFile.path), FILE_MODE);

  const projectText = readFileSync(projectFile, 'utf8');
  const required = requiredGodot(projectText);
  const found = findGodot(o.godot, env, required.major);
  const mainFile = o.mode === 'pack' ? `${o.name}.pck` : o.name;
  if ('reason' in found) {
    if (o.production) throw new ReleaseError(`cannot export the server: ${found.reason}`, { file: shown(o.projectDir) });
    writeFileSync(join(o.outputDir, EXPORT_LOG), `${found.reason}\n`);
    // One skip: the server of every platform, for the one reason.
    const every = targets.length > 1 ? ` (every platform: ${targets.map((t) => t.platform).join(', ')})` : '';
    const skipped = [{ artifact: mainFile, reason: `${found.reason}${every}` }];
    await writeArtifactSet(o.outputDir, {
      files: [versionFile],
      skipped,
      metadata: { godot: { preset: o.preset, mode: o.mode, version: null } },
    });
    return { files: [versionFile], skipped, logFile: join(o.outputDir, EXPORT_LOG) };
  }
  if (required.minor !== undefined && found.version.minor < required.minor) {
    say(`WARNING the project targets Godot ${required.major}.${required.minor}, exporting with ${found.version.full}`);
  }
  const display = Boolean(env.DISPLAY);
  const major = found.version.major;
  const files = projectFiles(o.projectDir, preset.excludeFilter);
  const runLogged = (command: CommandLine, logName: string) => logged(command, join(o.outputDir, logName), env, o.timeoutSeconds);

  if (needsImport(o.projectDir, major, files)) {
    say('the project was never imported: running the import pass first');
    const run = await runLogged(importCommand(found.binary, major, o.projectDir, display), EXPORT_LOG);
    if (run.timedOut) throw timeoutError('import', o.timeoutSeconds, shown(join(o.outputDir, EXPORT_LOG)));
  }

  const checked = await checkProject(o, found, files, display, shown);
  const more = targets.slice(1).map((t) => `"${t.preset.name}" (${t.platform})`);
  say(
    `Godot ${found.version.full} (${found.binary}, from ${found.from}): ${checked} files load; exporting preset "${o.preset}" (${o.mode})` +
      (more.length ? `, then ${more.join(', ')}` : ''),
  );

  const exportLog = join(o.outputDir, EXPORT_LOG);
  const artifacts: ArtifactFile[] = [versionFile];
  const skipped: Skip[] = [];
  const exported: ExportedPlatform[] = [];
  for (const target of targets) {
    const dir = join(o.outputDir, target.dir);
    mkdirSync(dir, { recursive: true });
    const output = join(dir, mainFile);
    const logFrom = existsSync(exportLog) ? statSync(exportLog).size : 0;
    const started = Date.now();
    const run = await runLogged(exportCommand(found.binary, major, o.projectDir, target.preset.name, o.mode, output, display), EXPORT_LOG);
    if (run.timedOut) throw timeoutError('export', o.timeoutSeconds, shown(exportLog));
    const problems = logErrors(readFileSync(exportLog).subarray(logFrom).toString('utf8')).map((e) => `log: ${e}`);
    if (run.code !== 0) problems.unshift(`Godot exited with ${run.code}`);
    problems.push(...checkOutput(output, mainFile, started));
    const made: ArtifactFile[] = [{ path: posix.join(target.dir, mainFile), mode: o.mode === 'pack' ? FILE_MODE : EXECUTABLE_MODE }];
    if (o.mode !== 'pack' && !target.preset.embedPck) {
      made.push({ path: posix.join(target.dir, `${o.name}.pck`), mode: FILE_MODE });
      problems.push(...checkOutput(join(dir, `${o.name}.pck`), `${o.name}.pck`, started));
    }
    const missingTemplate = problems.find((p) => /No export template found/i.test(p));
    if (missingTemplate && target.dir && !o.production) {
      skipped.push({
        artifact: made[0].path,
        reason: `no export template for preset "${target.preset.name}": ${missingTemplate.replace(/^log: /, '')}`,
      });
      say(`SKIPPED ${made[0].path}: preset "${target.preset.name}" has no export template`);
      continue;
    }
    if (problems.length) {
      throw new ReleaseError(`Godot export of preset "${target.preset.name}" failed:\n  - ${problems.join('\n  - ')}`, {
        file: shown(o.projectDir),
        hint: `full log: ${shown(exportLog)}`,
      });
    }
    for (const f of made) chmodSync(join(o.outputDir, f.path), f.mode);

    const emulator = o.mode === 'pack' ? undefined : emulatorFor(output);
    const emulatorPath = emulator && onPath(emulator.qemu, env);
    if (emulator && !emulatorPath) {
      const reason = `it is a ${emulator.machine} executable and ${emulator.qemu} (qemu-user-static) is not on PATH to start it`;
      if (o.production) throw new ReleaseError(`the exported server cannot be started here: ${reason}`, { file: shown(output) });
      skipped.push({ artifact: made[0].path, reason });
      say(`SKIPPED ${made[0].path}: ${reason}`);
      continue;
    }
    const smokeLog = join(o.outputDir, target.dir ? `godot-smoke-${target.dir.replace(/\//g, '-')}.log` : SMOKE_LOG);
    const command = smokeCommand({
      major,
      engine: found.binary,
      headlessRuntime: headlessRuntime(found, env),
      artifact: output,
      pack: o.mode === 'pack',
      args: o.smokeArgs,
      display,
    });
    const logStream = createWriteStream(smokeLog);
    const smoked = await runSmoke({
      command: emulatorPath ? { command: emulatorPath, args: [command.command, ...command.args] } : command,
      ready,
      timeoutSeconds: o.smokeTimeoutSeconds,
      env,
      log: logStream,
      cwd: o.outputDir,
    }).finally(() => new Promise((resolve) => logStream.end(resolve)));
    if (smoked.problems.length) {
      throw new ReleaseError(`the exported server does not start (${o.smokeArgs.join(' ')}):\n  - ${smoked.problems.join('\n  - ')}`, {
        file: shown(output),
        hint: `full log: ${shown(smokeLog)}`,
      });
    }
    const under = emulatorPath ? ` under ${emulator!.qemu}` : '';
    const smokeArgs = o.smokeArgs.join(' ');
    say(`the exported server${target.dir ? ` for ${target.platform}` : ''} started${under} and printed its ready line (${smokeArgs})`);
    artifacts.push(...made);
    if (target.platform) exported.push({ platform: target.platform, preset: target.preset.name, dir: target.dir });
  }

  await writeArtifactSet(o.outputDir, {
    files: artifacts,
    skipped,
    metadata: {
      godot: {
        preset: o.preset,
        mode: o.mode,
        version: found.version.full,
        artifact: mainFile,
        checkedFiles: checked,
        smoke: { args: o.smokeArgs, ready: ready.source },
      },
      ...(exported.length ? { platforms: exported } : {}),
    },
  });
  return { files: artifacts, skipped, godotVersion: found.version.full, logFile: exportLog };
}

export interface ExportTarget {
  preset: ExportPreset;
  /** `linux/arm64`; none for a pack or a preset no container runs. */
  platform?: string;
  /** Where in the output folder it goes: '' for the main preset. */
  dir: string;
}

/**
 * The main preset, then one preset per further platform, each a Linux binary export of its own
 * architecture; an error for a further preset that is missing, not such an export, or a platform
 * taken twice (release:doctor asks the same).
 */
export function exportTargets(
  o: Pick<GodotExportOptions, 'mode' | 'platformPresets'>,
  main: ExportPreset,
  presets: ExportPreset[],
  presetsShown: string,
): ExportTarget[] {
  const mainPlatform = o.mode === 'pack' ? undefined : godotPresetPlatform(main.platform, main.options);
  const targets: ExportTarget[] = [{ preset: main, platform: mainPlatform && platformName(mainPlatform), dir: '' }];
  for (const name of o.platformPresets ?? []) {
    const preset = presets.find((p) => p.name === name);
    if (!preset)
      throw new ReleaseError(`has no export preset "${name}" (platformPresets); it has: ${presets.map((p) => `"${p.name}"`).join(', ')}`, {
        file: presetsShown,
      });
    const platform = godotPresetPlatform(preset.platform, preset.options);
    if (!mainPlatform || !platform)
      throw new ReleaseError(
        `preset "${name}" (${preset.platform}) cannot be a further platform of "${main.name}" (${main.platform}, ${o.mode}): ` +
          'platformPresets are Linux binary exports, one per container platform',
        { file: presetsShown },
      );
    const taken = targets.find((t) => t.platform === platformName(platform));
    if (taken)
      throw new ReleaseError(
        `presets "${taken.preset.name}" and "${name}" both export ${platformName(platform)}: one preset per platform`,
        {
          file: presetsShown,
          hint: 'set binary_format/architecture of each preset',
        },
      );
    targets.push({ preset, platform: platformName(platform), dir: platformName(platform) });
  }
  return targets;
}

/** Loads every file the export takes in one engine process; returns how many, or throws naming each problem. */
async function checkProject(
  o: GodotExportOptions,
  found: FoundGodot,
  files: string[],
  display: boolean,
  shown: (p: string) => string,
): Promise<number> {
  const settings = readProjectSettings(readFileSync(join(o.projectDir, 'project.godot'), 'utf8'));
  const known = settingProblems(o.projectDir, settings);
  const scripts = checkedFiles(files);
  const autoloadScripts = settings.autoloads.map((a) => a.value).filter((v) => v.endsWith('.gd'));
  const dir = mkdtempSync(join(tmpdir(), 'spacetime-check-'));
  const logFile = join(o.outputDir, CHECK_LOG);
  try {
    const script = join(dir, 'spacetime-check.gd');
    writeFileSync(script, checkerScript(found.version.major, scripts, autoloadScripts));
    const run = await logged(
      checkCommand(found.binary, found.version.major, o.projectDir, script, display),
      logFile,
      o.env ?? process.env,
      o.timeoutSeconds,
    );
    if (run.timedOut) throw timeoutError('check', o.timeoutSeconds, shown(logFile));
    const read = readCheckLog(readFileSync(logFile, 'utf8'), o.projectDir, known);
    const problems: ProjectProblem[] = [...known, ...read.problems];
    if (!read.done) problems.push({ res: 'res://project.godot', message: `the engine's check did not finish (exit code ${run.code})` });
    if (problems.length) {
      const where = (p: ProjectProblem) => `${shown(join(o.projectDir, p.res.replace(/^res:\/\//, '')))}${p.line ? `:${p.line}` : ''}`;
      throw new ReleaseError(
        `the project does not load in Godot ${found.version.full}:\n  - ${problems.map((p) => `${where(p)}: ${p.message}`).join('\n  - ')}`,
        {
          file: shown(o.projectDir),
          hint: `fix these before exporting; full log: ${shown(logFile)}`,
        },
      );
    }
    return scripts.length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs an engine command, appending to a log file. */
async function logged(command: CommandLine, logFile: string, env: NodeJS.ProcessEnv, timeoutSeconds: number) {
  const log = createWriteStream(logFile, { flags: 'a' });
  try {
    return await runProcess(command, { env, log, timeoutSeconds });
  } finally {
    await new Promise((resolve) => log.end(resolve));
  }
}

function timeoutError(what: string, seconds: number, logShown: string): ReleaseError {
  return new ReleaseError(`Godot ${what} did not finish within ${seconds} s and was stopped (process group killed)`, {
    file: logShown,
    hint: 'see this log; raise the timeout option if the project is large',
  });
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
