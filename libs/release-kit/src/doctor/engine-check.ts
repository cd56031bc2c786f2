import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ExportPreset, findGodot, FoundGodot, parseExportPresets, requiredGodot } from '../build/godot';
import { ExportTarget, exportTargets } from '../build/godot-export';
import { ReleaseError } from '../support/errors';
import { Check, CheckStatus, DoctorInput, DoctorMode, GodotExportTarget, messageOf, skipOrStop } from './check';
import { templateNeed } from './export-templates';

export interface EngineChecks {
  checks: Check[];
  /** Output folders of the exports that will write the server (an image build needs one). */
  exported: string[];
}

/**
 * Each Godot export as the build meets it (exportGodotProject): the preset and each platform
 * preset exist and can be exported together (an error in every mode), an engine of the project's
 * major version is found by the same search (else a recorded skip in development, an error in
 * production), and the export template of every preset is installed (a platform preset's missing
 * template is a recorded skip in development, as the export makes it).
 */
export function checkEngines(input: DoctorInput): EngineChecks {
  const checks: Check[] = [];
  const exported: string[] = [];
  for (const target of input.exports) {
    const { found, exports } = checkExport(target, input);
    checks.push(...found);
    if (exports && found.every((c) => c.status !== 'error')) exported.push(target.outputPath);
  }
  return { checks, exported };
}

function engineCheck(target: GodotExportTarget, what: string, status: CheckStatus, found: string, fix?: string): Check {
  return { area: 'Engine', name: `${target.target} ${what}`, status, found, ...(fix ? { fix } : {}), stage: 'build' };
}

/** The export's checks, and whether it will run (an engine was found). */
function checkExport(target: GodotExportTarget, input: DoctorInput): { found: Check[]; exports: boolean } {
  const stop = (what: string, text: string, fix: string) => ({ found: [engineCheck(target, what, 'error', text, fix)], exports: false });
  const shown = (path: string) => relative(input.workspaceRoot, path) || '.';
  const projectFile = join(target.projectDir, 'project.godot');
  const presetsFile = join(target.projectDir, 'export_presets.cfg');
  if (!existsSync(projectFile))
    return stop('project', `${shown(target.projectDir)} has no project.godot`, "point the target's project option at it");
  if (!existsSync(presetsFile))
    return stop('preset', `${shown(presetsFile)} is missing`, 'create the export presets in the editor (Project > Export)');
  const presets = parseExportPresets(readFileSync(presetsFile, 'utf8'));
  const preset = presets.find((p) => p.name === target.preset);
  if (!preset) {
    const names = presets.map((p) => `"${p.name}"`).join(', ') || 'none';
    return stop(
      'preset',
      `${shown(presetsFile)} has no preset "${target.preset}" (it has ${names})`,
      'name one of them, or add it in the editor',
    );
  }
  let targets: ExportTarget[];
  try {
    targets = exportTargets(target, preset, presets, shown(presetsFile));
  } catch (e) {
    const hint =
      (e instanceof ReleaseError && e.hint) || "name Linux presets of other architectures in the target's platformPresets option";
    return stop('preset', messageOf(e), hint);
  }
  const further = targets.slice(1).map((t) => `, then "${t.preset.name}" (${t.platform})`);
  const checks = [
    engineCheck(
      target,
      'preset',
      'ok',
      `"${preset.name}" (${preset.platform}, ${target.mode})${further.join('')} in ${shown(presetsFile)}`,
    ),
  ];

  const required = requiredGodot(readFileSync(projectFile, 'utf8'));
  const needs = `Godot ${required.major}${required.minor !== undefined ? `.${required.minor}` : ''}`;
  const godot = findGodot(target.godot, input.env, required.major);
  if ('reason' in godot) {
    const outcome = input.mode === 'production' ? 'the export fails' : 'the export will be skipped (recorded in MANIFEST.json)';
    const fix = `install ${needs} (godotengine.org; not packaged in Debian) and set GODOT_BIN to it, or put it on PATH as godot or godot4`;
    checks.push(engineCheck(target, 'engine', skipOrStop(input.mode), `${godot.reason}: ${outcome}`, fix));
    return { found: checks, exports: false };
  }
  const engine = `Godot ${godot.version.full} at ${godot.binary} (from ${godot.from})`;
  checks.push(
    required.minor !== undefined && godot.version.minor < required.minor
      ? engineCheck(
          target,
          'engine',
          'warning',
          `${engine}, older than the project's ${needs}: the export runs with it`,
          `install ${needs}`,
        )
      : engineCheck(target, 'engine', 'ok', `${engine}; the project needs ${needs}`),
  );
  // A pack export (--export-pack) reads no template, and has no platform presets.
  if (target.mode !== 'pack')
    for (const exported of targets) checks.push(templateCheck(target, target.mode, exported, godot, input.env, input.mode));
  return { found: checks, exports: true };
}

/**
 * The template a preset's export reads. Missing, the main preset's export fails; a platform
 * preset's official template missing is a recorded skip of that platform in development (Godot
 * says "No export template found"), as exportGodotProject makes it, and an error in production.
 */
function templateCheck(
  target: GodotExportTarget,
  mode: 'release' | 'debug',
  exported: ExportTarget,
  godot: FoundGodot,
  env: NodeJS.ProcessEnv,
  doctorMode: DoctorMode,
): Check {
  const preset: ExportPreset = exported.preset;
  const what = exported.dir ? `"${preset.name}" export template` : 'export template';
  const need = templateNeed(godot.binary, godot.version, preset.platform, preset.options, mode, target.projectDir, env);
  if (need.kind === 'unknown') {
    const text = `release:doctor does not know which template Godot needs for platform "${need.platform}"`;
    return engineCheck(target, what, 'warning', text, 'export the preset once in the editor to check it');
  }
  if (existsSync(need.file)) return engineCheck(target, what, 'ok', need.file);
  const missing = `${need.file} is missing: the export of "${preset.name}" (${mode}) fails`;
  if (need.kind === 'custom')
    return engineCheck(
      target,
      what,
      'error',
      `${need.option} names ${missing}`,
      `correct ${need.option} of "${preset.name}" in export_presets.cfg, or empty it to use the installed templates`,
    );
  const skipped = exported.dir && doctorMode === 'development';
  return engineCheck(
    target,
    what,
    exported.dir ? skipOrStop(doctorMode) : 'error',
    skipped
      ? `${need.file} is missing: the ${exported.platform} server (preset "${preset.name}", ${mode}) will be skipped ` +
          `(recorded in MANIFEST.json), and so will the ${exported.platform} image`
      : missing,
    `install the export templates of Godot ${need.versionFolder} into ${need.folder} (editor: Manage Export Templates; ` +
      `or unzip the release's export_templates.tpz and move the files of its templates/ folder there)`,
  );
}
