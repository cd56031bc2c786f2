import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packSection } from '../src/section/packer';
import { resolveSectionSources } from '../src/section/sources';
import { validateSection, ValidationReport } from '../src/validation/validate-section';
import type { Finding } from '../src/validation/findings';
import { tempDir } from './helpers';

const WORKSPACE = join(__dirname, '..', '..', '..');
export const VERSION = readFileSync(join(WORKSPACE, 'VERSION'), 'utf8').trim();

/** A copy of a real section project, to break on purpose. */
export function copySection(section: string): { root: string; src: string } {
  const root = tempDir(`validate-${section}`);
  cpSync(join(WORKSPACE, 'libs/sections', section), join(root, 'libs/sections', section), { recursive: true });
  return { root, src: join(root, 'libs/sections', section) };
}

/** Edits a file of the copy with a string replacement that must apply. */
export function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`the edit of ${file} did not apply: ${from}`);
  writeFileSync(file, next);
}

/** Packages the copy exactly as the package target does, then validates the staged output. */
export async function packAndValidate(
  section: string,
  root: string,
  mode: 'development' | 'production' = 'development',
  now?: Date,
): Promise<ValidationReport> {
  const projectRoot = `libs/sections/${section}`;
  const options = JSON.parse(readFileSync(join(root, projectRoot, 'project.json'), 'utf8')).targets.package.options ?? {};
  const sources = resolveSectionSources({
    workspaceRoot: root,
    projectRoot,
    version: VERSION,
    sources: options.sources ?? [{ from: 'src', to: '.' }],
    generate: options.generate,
  });
  const output = join(root, 'dist/sections', section);
  await packSection({ workspaceRoot: root, section, version: VERSION, sources, skipped: [], outputDir: output, mtime: 315532800 });
  return validateSection({
    workspaceRoot: root,
    sectionOutput: output,
    section,
    version: VERSION,
    mode,
    reportDir: join(root, 'dist/validation', section),
    now,
  });
}

export const errors = (r: ValidationReport): Finding[] => r.findings.filter((f) => f.severity === 'error');

/** Describes findings for assertion messages. */
export const show = (fs: Finding[]): string =>
  fs.map((f) => `${f.severity} ${f.file}:${f.line ?? '-'} [${f.rule}] ${f.message}`).join('\n');

/** The line (1-based) of the first line of a file that contains `needle`. */
export function lineOf(file: string, needle: string | RegExp, after = 0): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l, n) => n >= after && (typeof needle === 'string' ? l.includes(needle) : needle.test(l)));
  if (i < 0) throw new Error(`${needle} not in ${file}`);
  return i + 1;
}
