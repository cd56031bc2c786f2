import type { CheckStatus } from './check';
import type { DoctorReport } from './doctor';

const MARKS: Record<CheckStatus, string> = { ok: 'ok', warning: 'WARNING', error: 'ERROR' };

/** The report for people: each area's checks, the fix under each problem, and the counts. */
export function formatDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines: string[] = [];
  let area = '';
  for (const check of report.checks) {
    if (check.area !== area) {
      area = check.area;
      lines.push(lines.length ? `\n${area}` : area);
    }
    lines.push(`  ${MARKS[check.status].padEnd(7)}  ${check.name.padEnd(width)}  ${check.found}`);
    if (check.fix) lines.push(`  ${''.padEnd(7)}  ${''.padEnd(width)}  fix: ${check.fix}`);
  }
  lines.push('', summary(report));
  return lines.join('\n');
}

function summary(report: DoctorReport): string {
  const { ok, warning, error } = report.counts;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${report.mode}: ${ok} ok, ${plural(warning, 'warning')}, ${plural(error, 'error')}`;
}

/** The report for programs: one JSON document. */
export function doctorJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
