import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ReleaseError } from '../support/errors';
import { contentDigest, readFragment, SectionFragment } from '../format/fragment';
import { stageSectionTree } from '../section/tree';
import { compareBytes, stableJson } from '../support/stable-json';
import { validateConfig } from './config';
import { validateDocs } from './docs';
import { Finding, Mode, ValidationContext } from './findings';
import { validateKubernetes } from './kubernetes';
import { validateMonitoring } from './monitoring';
import { checkMigrations, checkShellScripts } from './scripts';
import { scanSecrets } from './secrets';
import { checkCertificates, checkSecurityReports } from './security';
import { validateTests } from './tests';

type Check = (ctx: ValidationContext) => void;

/** Checks every section gets. */
const COMMON: Check[] = [scanSecrets, checkShellScripts, checkMigrations];

/** The checks of each section, as data. */
export const SECTION_CHECKS: Record<string, Check[]> = {
  kubernetes: [validateKubernetes],
  monitoring: [validateMonitoring],
  config: [validateConfig],
  scripts: [],
  docs: [validateDocs],
  security: [checkCertificates, checkSecurityReports],
  tests: [validateTests],
  binaries: [],
};

export interface ValidateSectionOptions {
  workspaceRoot: string;
  /** The section's package output, `dist/sections/<project>`. */
  sectionOutput: string;
  section: string;
  version: string;
  mode: Mode;
  /** Where report.json goes, `dist/validation/<project>`. */
  reportDir: string;
  /** The time certificates are judged at (tests). */
  now?: Date;
}

export interface ValidationReport {
  section: string;
  version: string;
  mode: Mode;
  /** contentDigest of the files validated: binds the report to exactly that content. */
  content: string;
  passed: boolean;
  checks: string[];
  counts: Record<'error' | 'skip' | 'waiver' | 'note', number>;
  findings: Finding[];
}

/**
 * Validates the staged output of one section with the tools its users trust. Every finding is
 * collected (one run reports all of them), written to `<reportDir>/report.json` in a stable
 * order, and an error lists them all.
 */
export function validateSection(options: ValidateSectionOptions): ValidationReport {
  const fragment = readFragment(options.sectionOutput, options.section, options.version);
  const tree = mkdtempSync(join(tmpdir(), `validate-${options.section}-tree-`));
  stageSectionTree(fragment, options.sectionOutput, options.workspaceRoot, tree);
  const ctx = new ValidationContext(
    tree,
    options.section,
    options.version,
    options.mode,
    fragment.files.map((f) => ({ path: f.path, mode: f.mode })),
    options.now,
    { workspaceRoot: options.workspaceRoot, outputs: dirname(options.sectionOutput) },
  );
  try {
    for (const check of [...COMMON, ...(SECTION_CHECKS[options.section] ?? [])]) {
      try {
        check(ctx);
      } catch (e) {
        if (!(e instanceof ReleaseError)) throw e;
        ctx.add('validation/error', e.file ?? options.section, e.line, e.message.replace(/^\S+?:(\d+:)? /, ''));
      }
    }
  } finally {
    ctx.dispose();
    rmSync(tree, { recursive: true, force: true });
  }
  const findings = ctx.findings.map((f) => ({ ...f, message: f.message.split(ctx.treeRoot + '/').join('') })).sort(compareFindings);
  const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  const report: ValidationReport = {
    section: options.section,
    version: options.version,
    mode: options.mode,
    content: contentDigest(fragment),
    passed: count('error') === 0,
    checks: [...ctx.checks].sort(compareBytes),
    counts: { error: count('error'), skip: count('skip'), waiver: count('waiver'), note: count('note') },
    findings,
  };
  mkdirSync(options.reportDir, { recursive: true });
  const file = join(options.reportDir, 'report.json');
  writeFileSync(`${file}.partial`, stableJson(report));
  renameSync(`${file}.partial`, file);
  return report;
}

/**
 * The first report among `files` that judged exactly this fragment's content (in `mode` when
 * given): a report of other content, or of another format, is not evidence for this build.
 */
export function findValidationReport(files: string[], fragment: SectionFragment, mode?: Mode): ValidationReport | undefined {
  const content = contentDigest(fragment);
  for (const file of files) {
    if (!existsSync(file)) continue;
    let report: ValidationReport;
    try {
      report = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    if (report.content === content && report.version === fragment.version && (!mode || report.mode === mode)) return report;
  }
  return undefined;
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    compareBytes(a.file, b.file) || (a.line ?? 0) - (b.line ?? 0) || compareBytes(a.rule, b.rule) || compareBytes(a.message, b.message)
  );
}

/** One line per section: what ran, what failed, where the report is. */
export function formatSummary(report: ValidationReport, reportFile: string): string {
  const { error, skip, waiver } = report.counts;
  return (
    `${report.section}/: ${report.checks.length} checks (${report.checks.join('; ')}), ` +
    `${error} failures, ${skip} skipped, ${waiver} waived (${report.mode}); report: ${reportFile}`
  );
}

/** The error for a section that failed, pointing at where its findings are. */
export function failedValidation(report: ValidationReport, where: string): string {
  const { error } = report.counts;
  return `${report.section}/ failed validation: ${error} failure${error === 1 ? '' : 's'} (${where})`;
}

export function formatFinding(f: Finding): string {
  const label = { error: 'ERROR', skip: 'SKIPPED', waiver: 'WAIVED', note: 'NOTE' }[f.severity];
  return `${label} ${f.file}${f.line ? `:${f.line}` : ''}: [${f.rule}] ${f.message}`;
}
