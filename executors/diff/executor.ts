import type { ExecutorContext } from '@nx/devkit';
import { join, relative } from 'node:path';
import { packageFolderName } from '@spacetime/release-kit/src/format/layout';
import { diffMarkdown } from '@spacetime/release-kit/src/report/markdown';
import { openPackageSource } from '@spacetime/release-kit/src/report/package-source';
import { diffReleases } from '@spacetime/release-kit/src/report/release-diff';
import { diffText } from '@spacetime/release-kit/src/report/text';
import { writeAtomically } from '@spacetime/release-kit/src/support/write-atomically';
import { readVersion } from '@spacetime/release-kit/src/versioning/version-file';
import { runExecutor } from '../run-executor';
import type { DiffExecutorSchema } from './schema';

export default async function diff(options: DiffExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const version = readVersion(join(context.root, 'VERSION'));
    const outputDir = join(context.root, options.outputDir);
    const current = join(outputDir, packageFolderName(version));
    const from = await openPackageSource(options.from, {
      workspaceRoot: context.root,
      env: process.env,
      artifactRepo: options.artifactRepo,
      log: (line) => console.log(line),
    });
    try {
      const result = await diffReleases(from.path, current, { from: from.shownAs, to: relative(context.root, current) });
      const json = JSON.stringify(result, null, 2) + '\n';
      writeAtomically(join(outputDir, 'release-diff.md'), diffMarkdown(result));
      writeAtomically(join(outputDir, 'release-diff.json'), json);
      process.stdout.write(options.json ? json : diffText(result));
    } finally {
      from.dispose();
    }
  });
}
