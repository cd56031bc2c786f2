import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ReleaseError } from '../support/errors';
import { archiveNames, packageFolderName, PUBLIC_KEY_FILE, ROOT_FILES } from '../format/layout';
import { Manifest } from '../format/manifest';
import { renderReportHtml, ReportModel } from './html';
import { ReleaseDiff } from './release-diff';
import { readTaskRuns, TASK_GRAPH_FILE } from './task-graph';
import { readValidationResults } from './validation-results';
import { writeAtomically } from '../support/write-atomically';

export const REPORT_FILE = 'report.html';

export interface ReleaseReportOptions {
  /** The folder holding the package folder and its archives, `dist/release`. */
  outputDir: string;
  version: string;
  sections: string[];
  /** Where validate-section wrote its reports, `dist/validation`. */
  validationDir: string;
  /** An Nx profile of the build (NX_PROFILE), if there is one. */
  profile?: string;
  diff?: ReleaseDiff;
}

/** Writes `<outputDir>/report.html` for the built package and returns its path and model. */
export function writeReleaseReport(options: ReleaseReportOptions): { file: string; bytes: number; model: ReportModel } {
  const packageName = packageFolderName(options.version);
  const manifestFile = join(options.outputDir, packageName, ROOT_FILES.manifest);
  if (!existsSync(manifestFile))
    throw new ReleaseError('no built package: run `npx nx run release:assemble` first', { file: manifestFile });
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  const names = archiveNames(options.version);
  const profile = options.profile && existsSync(options.profile) ? options.profile : undefined;
  const model: ReportModel = {
    manifest,
    packageName,
    archives: [names.tarGz, names.zip]
      .filter((n) => existsSync(join(options.outputDir, n)))
      .map((name) => ({ name, size: statSync(join(options.outputDir, name)).size })),
    publicKey: PUBLIC_KEY_FILE,
    validation: readValidationResults(options.validationDir, options.sections),
    tasks: readTaskRuns(join(options.outputDir, TASK_GRAPH_FILE), profile),
    profile: profile && basename(profile),
    diff: options.diff,
  };
  const html = renderReportHtml(model);
  const file = join(options.outputDir, REPORT_FILE);
  writeAtomically(file, html);
  return { file, bytes: Buffer.byteLength(html), model };
}
