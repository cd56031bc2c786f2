import type { ExecutorContext } from '@nx/devkit';
import { join, relative } from 'node:path';
import { packageFolderName } from '@spacetime/release-kit/src/format/layout';
import { loadReleaseConfig } from '@spacetime/release-kit/src/format/release-config';
import { openPackageSource } from '@spacetime/release-kit/src/report/package-source';
import { diffReleases } from '@spacetime/release-kit/src/report/release-diff';
import { writeReleaseReport } from '@spacetime/release-kit/src/report/release-report';
import { readVersion } from '@spacetime/release-kit/src/versioning/version-file';
import { runExecutor } from '../run-executor';
import type { ReportExecutorSchema } from './schema';

export default async function report(options: ReportExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const configFile = options.config;
    const config = loadReleaseConfig(join(context.root, configFile), configFile);
    const version = readVersion(join(context.root, 'VERSION'));
    const outputDir = join(context.root, options.outputDir);
    const current = join(outputDir, packageFolderName(version));
    const from = options.from ? await openPackageSource(options.from, { workspaceRoot: context.root, env: process.env }) : undefined;
    const diff = from
      ? await diffReleases(from.path, current, { from: from.shownAs, to: relative(context.root, current) }).finally(() => from.dispose())
      : undefined;
    const started = Date.now();
    const result = writeReleaseReport({
      outputDir,
      version,
      sections: config.sections,
      validationDir: join(context.root, options.validationDir),
      profile: join(context.root, options.profile),
      diff,
    });
    console.log(
      `${relative(context.root, result.file)}: ${result.bytes} bytes in ${Date.now() - started} ms ` +
        `(${result.model.validation.length} validation reports, ${result.model.tasks?.length ?? 0} tasks` +
        `${diff ? `, diff against ${options.from}` : ''})`,
    );
  });
}
