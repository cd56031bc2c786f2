import { join, relative } from 'node:path';
import { ReleaseError } from '../../support/errors';
import { failedValidation, formatFinding, formatSummary, validateSection } from '../../validation/validate-section';
import type { AssembleContext, AssembleStep } from '../context';
import { validationReportFor } from '../validation-reports';

/**
 * A production release: every section passes production validation, the tree is clean, the key is
 * not the development key and nothing was skipped. Every build: says what it skipped.
 */
export const productionGate: AssembleStep = {
  name: 'production gate',
  run(ctx) {
    if (ctx.options.production) {
      const problems = [
        ...validateForProduction(ctx),
        ...((ctx.git?.dirty ?? true) ? ['the git tree has uncommitted changes (or is not a git checkout): commit them first'] : []),
        ...(ctx.signer.mode === 'development'
          ? ['no release signing key: set RELEASE_SIGNING_KEY (+ RELEASE_SIGNING_PASSPHRASE) or GPG_KEY_ID']
          : []),
        ...ctx.skipped.map((s) => `${s.artifact} was skipped: ${s.reason}`),
      ];
      if (problems.length) throw new ReleaseError(`a production release cannot be built:\n  - ${problems.join('\n  - ')}`);
    }
    for (const skip of ctx.skipped) ctx.log(`SKIPPED ${skip.artifact}: ${skip.reason}`);
    if (ctx.signer.mode === 'development')
      ctx.log('SIGNED WITH THE DEVELOPMENT KEY: this package is not fit for production (set RELEASE_SIGNING_KEY or GPG_KEY_ID)');
  },
};

/**
 * Every section of a production release is validated in production mode. A section with a passing
 * report of exactly its content (from `nx run-many -t validate-release`, cached) is not validated
 * again; the others are validated here. Returns the sections that failed.
 */
function validateForProduction(ctx: AssembleContext): string[] {
  const { options } = ctx;
  const failed: string[] = [];
  for (const { fragment, outputDir } of ctx.sections) {
    let report = validationReportFor(options, fragment);
    // A failed report is judged again: the failure may have been a tool that is installed now.
    if (!report?.passed) {
      const reportDir = join(options.workspaceRoot, options.validationDir, 'release-gate', fragment.section);
      report = validateSection({
        workspaceRoot: options.workspaceRoot,
        sectionOutput: outputDir,
        section: fragment.section,
        version: ctx.version,
        mode: 'production',
        reportDir,
        now: options.now,
      });
      for (const finding of report.findings) ctx.log(formatFinding(finding));
      ctx.log(formatSummary(report, relative(options.workspaceRoot, join(reportDir, 'report.json'))));
    }
    if (report.counts.error)
      failed.push(failedValidation(report, `see ${join(options.validationDir, 'release-gate', fragment.section, 'report.json')}`));
  }
  return failed;
}
