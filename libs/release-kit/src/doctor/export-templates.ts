import { existsSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { GodotVersion } from '../build/godot';

/**
 * The export template a Godot export reads: a preset's `custom_template/<mode>` when set, else the
 * official one of the engine's version in Godot's data folder (editor_data beside a self-contained
 * engine). Godot 3 keeps them in `templates/`, Godot 4 in `export_templates/`.
 */

type Options = Record<string, string>;
type TemplateName = (mode: 'release' | 'debug', options: Options) => string;

const arch = (o: Options) => o['binary_format/architecture'] || 'x86_64';
const bits = (o: Options) => (o['binary_format/64_bits'] === 'false' ? '32' : '64');

/** File names by `<major>/<platform>`, as each platform's `get_template_file_name` makes them. */
const TEMPLATE_FILES: Record<string, TemplateName> = {
  '4/Linux': (mode, o) => `linux_${mode}.${arch(o)}`,
  '4/Linux/X11': (mode, o) => `linux_${mode}.${arch(o)}`,
  '4/Windows Desktop': (mode, o) => `windows_${mode}_${arch(o)}.exe`,
  '4/macOS': () => 'macos.zip',
  '3/Linux/X11': (mode, o) => `linux_x11_${bits(o)}_${mode}`,
  '3/Windows Desktop': (mode, o) => `windows_${bits(o)}_${mode}.exe`,
  '3/Mac OSX': () => 'osx.zip',
};

const TEMPLATE_FOLDERS: Record<number, string> = { 3: 'templates', 4: 'export_templates' };

export type TemplateNeed =
  | { kind: 'custom'; file: string; option: string }
  | { kind: 'official'; file: string; folder: string; versionFolder: string }
  | { kind: 'unknown'; platform: string };

export function templateNeed(
  binary: string,
  version: GodotVersion,
  platform: string,
  options: Options,
  mode: 'release' | 'debug',
  projectDir: string,
  env: NodeJS.ProcessEnv,
): TemplateNeed {
  const option = `custom_template/${mode}`;
  if (options[option]) return { kind: 'custom', file: resolve(projectDir, options[option]), option };
  const name = TEMPLATE_FILES[`${version.major}/${platform}`];
  if (!name) return { kind: 'unknown', platform };
  const versionFolder = templateVersion(version.full);
  const folder = join(dataFolder(binary, env), TEMPLATE_FOLDERS[version.major] ?? 'export_templates', versionFolder);
  return { kind: 'official', file: join(folder, name(mode, options)), folder, versionFolder };
}

/** `4.5.1.stable.official.f62fdbde1` keeps its templates under `4.5.1.stable` (a .NET build: `4.5.1.stable.mono`). */
export function templateVersion(full: string): string {
  const m = /^(\d+\.\d+(?:\.\d+)?\.[A-Za-z]+\d*)(\.mono)?/.exec(full);
  return m ? `${m[1]}${m[2] ?? ''}` : full;
}

function dataFolder(binary: string, env: NodeJS.ProcessEnv): string {
  if (binary.includes('/')) {
    const beside = dirname(realpathSync(binary));
    if (['_sc_', '._sc_'].some((marker) => existsSync(join(beside, marker)))) return join(beside, 'editor_data');
  }
  const data = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(env.HOME || homedir(), '.local/share');
  return join(data, 'godot');
}
