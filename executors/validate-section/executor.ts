import type { ExecutorContext } from '@nx/devkit';
import { join, relative } from 'node:path';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { failedValidation, formatFinding, formatSummary, validateSection } from '@spacetime/release-kit/src/validation/validate-section';
import { readVersion } from '@spacetime/release-kit/src/versioning/version-file';
import { runExecutor } from '../run-executor';
import type { ValidateSectionExecutorSchema } from './schema';

export default async function validateSectionExecutor(options: ValidateSectionExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const project = context.projectName!;
    const section = options.section ?? project;
    const mode = options.mode;
    const reportDir = join(context.root, options.reportDir.split('{projectName}').join(project));
    const report = validateSection({
      workspaceRoot: context.root,
      sectionOutput: join(context.root, 'dist', 'sections', project),
      section,
      version: readVersion(join(context.root, 'VERSION')),
      mode,
      reportDir,
    });
    for (const finding of report.findings) (finding.severity === 'error' ? console.error : console.log)(formatFinding(finding));
    console.log(formatSummary(report, `${relative(context.root, reportDir)}/report.json`));
    if (report.counts.error) throw new ReleaseError(failedValidation(report, 'listed above'));
  });
}
