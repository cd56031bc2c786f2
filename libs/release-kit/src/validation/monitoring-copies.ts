import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFragment, SectionFragment } from '../format/fragment';
import { stageSectionTree } from '../section/tree';
import { ReleaseError } from '../support/errors';
import { ValidationContext } from './findings';

/** The section whose folder holds the copies. */
export const COPIES_SECTION = 'config';

/**
 * The monitoring set is the one source of truth: `config/` ships byte-for-byte copies of these
 * files of `monitoring/` (a row ending in `/` covers every file below that folder), so that
 * `config/production/` is a complete Prometheus and Alertmanager configuration on its own.
 */
export const MONITORING_COPIES: Array<{ source: string; copy: string }> = [
  { source: 'prometheus/prometheus.yml', copy: 'production/prometheus.yml' },
  { source: 'prometheus/alerts.yml', copy: 'production/alerts.yml' },
  { source: 'prometheus/rules/', copy: 'production/rules/' },
  { source: 'alertmanager/config.yml', copy: 'production/alertmanager.yml' },
  { source: 'alertmanager/templates/', copy: 'production/templates/' },
];

/** Files of `config/` that are monitoring configuration: each must be one of the copies. */
const MONITORING_FILE = /\/(?:prometheus|alertmanager|alert_rules|alerts)\.ya?ml$|\.tmpl$/;

/**
 * Compares the copies the config section packaged with the monitoring files they copy, and reports
 * a copy that differs (at its first differing line), one that is missing, and a monitoring file in
 * `config/` that copies nothing listed: the two sets cannot part again without failing here.
 */
export function checkMonitoringCopies(ctx: ValidationContext): void {
  ctx.checks.add(`${COPIES_SECTION}/ copies of the monitoring set`);
  const copies = packagedCopies(ctx);
  if (!copies) return;
  const expected = new Map<string, string>();
  for (const row of MONITORING_COPIES) {
    const source = `${ctx.section}/${row.source}`;
    const sources = row.source.endsWith('/') ? ctx.filesUnder(source).map((f) => f.path) : [source];
    if (!sources.some((s) => ctx.files.some((f) => f.path === s))) {
      ctx.add('monitoring/copy', source, undefined, `is missing: ${COPIES_SECTION}/${row.copy} is a copy of it`);
      continue;
    }
    for (const path of sources) expected.set(`${COPIES_SECTION}/${row.copy}${path.slice(source.length)}`, path);
  }
  for (const [copy, source] of expected) {
    const copied = copies.read(copy);
    const fix = copies.fix(source, copy);
    if (copied === undefined) {
      ctx.add('monitoring/copy', copy, undefined, `is missing: it must be a copy of ${source} (${fix})`);
      continue;
    }
    const original = readFileSync(ctx.abs(source));
    if (original.equals(copied)) continue;
    const { line, was, is } = firstDifference(original.toString('utf8'), copied.toString('utf8'));
    ctx.add(
      'monitoring/copy',
      copy,
      line,
      `differs from ${source}, which it copies, at line ${line} (${source}: ${was}; here: ${is}): edit ${source} and copy it (${fix})`,
    );
  }
  const listed = MONITORING_COPIES.map((r) => `${COPIES_SECTION}/${r.copy}`).join(', ');
  for (const path of copies.paths) {
    if (!expected.has(path) && MONITORING_FILE.test(path))
      ctx.add(
        'monitoring/copy',
        path,
        undefined,
        `copies no file of ${ctx.section}/: ${COPIES_SECTION}/ ships only copies of the monitoring set (${listed}); ` +
          'remove it, or make it one of them',
      );
  }
}

interface PackagedCopies {
  paths: string[];
  read(path: string): Buffer | undefined;
  /** The command that makes `copy` a copy of `source` again, in workspace paths. */
  fix(source: string, copy: string): string;
}

/** The copies section as packaged, staged under the context's temporary folder. */
function packagedCopies(ctx: ValidationContext): PackagedCopies | undefined {
  const notRun = (why: string) =>
    ctx.add(
      'monitoring/copy',
      ctx.section,
      undefined,
      `${COPIES_SECTION}/ copies not compared: ${why}`,
      ctx.mode === 'production' ? 'error' : 'skip',
    );
  if (!ctx.packaged) return void notRun('no package outputs given');
  const { workspaceRoot, outputs } = ctx.packaged;
  let fragments: SectionFragment[];
  try {
    if (!existsSync(join(outputs, COPIES_SECTION)))
      return void notRun(`the ${COPIES_SECTION} section is not packaged (run \`nx run ${COPIES_SECTION}:package\`)`);
    fragments = [COPIES_SECTION, ctx.section].map((s) => readFragment(join(outputs, s), s, ctx.version));
  } catch (e) {
    if (!(e instanceof ReleaseError)) throw e;
    return void notRun(e.message);
  }
  const [copied, own] = fragments;
  const staged = join(ctx.temp(), `${COPIES_SECTION}-section`);
  stageSectionTree(copied, join(outputs, COPIES_SECTION), workspaceRoot, staged);
  return {
    paths: copied.files.map((f) => f.path),
    read: (path) => (copied.files.some((f) => f.path === path) ? readFileSync(join(staged, path)) : undefined),
    fix: (source, copy) => `cp ${workspacePath(own, source)} ${workspacePath(copied, copy)}`,
  };
}

/** Where a package path of a section comes from in the workspace, by the folder its other files come from. */
function workspacePath(fragment: SectionFragment, path: string): string {
  const relative = (p: string) => p.slice(fragment.section.length + 1);
  const shipped = fragment.files.find((f) => f.path === path)?.source;
  if (shipped) return shipped;
  const sample = fragment.files.find((f) => f.source?.endsWith(`/${relative(f.path)}`));
  return sample ? `${sample.source!.slice(0, -relative(sample.path).length)}${relative(path)}` : path;
}

/** The first line (1-based) where two texts differ, with both versions of it, shortened. */
function firstDifference(a: string, b: string): { line: number; was: string; is: string } {
  const left = a.split('\n');
  const right = b.split('\n');
  let i = 0;
  while (i < left.length && i < right.length && left[i] === right[i]) i++;
  const show = (line: string | undefined) => (line === undefined ? 'the end of the file' : JSON.stringify(line.trim().slice(0, 80)));
  return { line: Math.min(i, right.length - 1) + 1, was: show(left[i]), is: show(right[i]) };
}
