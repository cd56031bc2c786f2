import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ExportPreset, findGodot, FoundGodot, parseExportPresets, requiredGodot } from '../build/godot';
import { Check, CheckStatus, DoctorInput, GodotExportTarget, skipOrStop } from './check';
import { templateNeed } from './export-templates';

export interface EngineChecks {
  checks: Check[];
  /** Output folders of the exports that will write the server (an image build needs one). */
  exported: string[];
}

/**
 * Each Godot export as the build meets it (exportGodotProject): the preset exists (an error in
 * every mode), an engine of the project's major version is found by the same search (else a
 * recorded skip in development, an error in production), and its export template is installed.
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
  const checks = [engineCheck(target, 'preset', 'ok', `"${preset.name}" (${preset.platform}, ${target.mode}) in ${shown(presetsFile)}`)];

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
  // A pack export (--export-pack) reads no template.
  if (target.mode !== 'pack') checks.push(templateCheck(target, target.mode, preset, preset.options, godot, input.env));
  return { found: checks, exports: true };
}

function templateCheck(
  target: GodotExportTarget,
  mode: 'release' | 'debug',
  preset: ExportPreset,
  options: Record<string, string>,
  godot: FoundGodot,
  env: NodeJS.ProcessEnv,
): Check {
  const need = templateNeed(godot.binary, godot.version, preset.platform, options, mode, target.projectDir, env);
  if (need.kind === 'unknown') {
    const text = `release:doctor does not know which template Godot needs for platform "${need.platform}"`;
    return engineCheck(target, 'export template', 'warning', text, 'export the preset once in the editor to check it');
  }
  if (existsSync(need.file)) return engineCheck(target, 'export template', 'ok', need.file);
  const missing = `${need.file} is missing: the export of "${preset.name}" (${mode}) fails`;
  if (need.kind === 'custom')
    return engineCheck(
      target,
      'export template',
      'error',
      `${need.option} names ${missing}`,
      `correct ${need.option} of "${preset.name}" in export_presets.cfg, or empty it to use the installed templates`,
    );
  return engineCheck(
    target,
    'export template',
    'error',
    missing,
    `install the export templates of Godot ${need.versionFolder} into ${need.folder} (editor: Manage Export Templates; ` +
      `or unzip the release's export_templates.tpz and move the files of its templates/ folder there)`,
  );
}
