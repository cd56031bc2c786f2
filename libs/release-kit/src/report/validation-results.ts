import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReleaseError } from '../support/errors';
import { Finding } from '../validation/findings';
import { ValidationReport } from '../validation/validate-section';

/** The two places validate-section writes a report, as the report names them. */
const GATES = [
  { gate: 'validate', folder: (section: string) => section },
  { gate: 'release gate', folder: (section: string) => join('release-gate', section) },
];

export type CheckStatus = 'pass' | 'fail' | 'waived' | 'skipped' | 'note';

export interface SectionValidation {
  section: string;
  gate: string;
  mode: string;
  status: 'pass' | 'fail';
  checks: string[];
  /** Every finding with what it means for the release and its evidence. */
  findings: Array<{ status: CheckStatus; evidence: string }>;
}

const STATUS: Record<Finding['severity'], CheckStatus> = { error: 'fail', waiver: 'waived', skip: 'skipped', note: 'note' };

/** Every validation report of the sections that exists under `validationDir`. */
export function readValidationResults(validationDir: string, sections: string[]): SectionValidation[] {
  return sections.flatMap((section) =>
    GATES.flatMap(({ gate, folder }) => {
      const file = join(validationDir, folder(section), 'report.json');
      if (!existsSync(file)) return [];
      let report: ValidationReport;
      try {
        report = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new ReleaseError(`not a validation report: ${(e as Error).message}`, { file });
      }
      return [
        {
          section,
          gate,
          mode: report.mode,
          status: report.passed ? ('pass' as const) : ('fail' as const),
          checks: report.checks ?? [],
          findings: (report.findings ?? []).map((f) => ({
            status: STATUS[f.severity],
            evidence: `${f.file}${f.line ? `:${f.line}` : ''}: [${f.rule}] ${f.message}`,
          })),
        },
      ];
    }),
  );
}
