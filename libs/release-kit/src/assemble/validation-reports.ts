import { join } from 'node:path';
import type { PackagedSection } from '../archive/archive-writer';
import type { SectionFragment } from '../format/fragment';
import { findValidationReport, ValidationReport } from '../validation/validate-section';
import type { AssembleOptions } from './context';

/** The validation report that judged exactly this section content; a production build takes only production reports. */
export function validationReportFor(options: AssembleOptions, fragment: SectionFragment): ValidationReport | undefined {
  const dir = join(options.workspaceRoot, options.validationDir);
  const gate = join(dir, 'release-gate', fragment.section, 'report.json');
  return options.production
    ? findValidationReport([gate], fragment, 'production')
    : findValidationReport([join(dir, fragment.section, 'report.json'), gate], fragment);
}

/** Each section's report (see validationReportFor), by section; undefined where none judged its content. */
export function validationReportsFor(options: AssembleOptions, sections: PackagedSection[]): Record<string, ValidationReport | undefined> {
  return Object.fromEntries(sections.map(({ fragment }) => [fragment.section, validationReportFor(options, fragment)]));
}
