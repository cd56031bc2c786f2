import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { entryEpoch } from '@spacetime/release-kit/src/format/determinism';
import { sourceRevision } from '@spacetime/release-kit/src/build/docker-image';
import { buildReleaseImage } from '@spacetime/release-kit/src/build/image-build';
import { readVersion } from '@spacetime/release-kit/src/versioning/version-file';
import { runExecutor } from '../run-executor';
import type { DockerImageExecutorSchema } from './schema';

const BUILT_BY = { files: 'the daemonless build', engine: 'the Docker engine' };

export default async function dockerImage(options: DockerImageExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const projectRoot = context.projectsConfigurations!.projects[context.projectName!].root;
    const version = readVersion(join(context.root, 'VERSION'));
    const revision = sourceRevision(context.root, [projectRoot, 'VERSION']);
    const epoch = process.env.SOURCE_DATE_EPOCH;
    const result = await buildReleaseImage({
      builder: options.builder,
      platforms: options.platforms,
      workspaceRoot: context.root,
      dockerfile: join(context.root, projectRoot, options.dockerfile),
      contextDir: join(context.root, options.contextPath),
      outputDir: join(context.root, options.outputPath),
      version,
      baseImage: options.baseImage ?? (process.env.BASE_IMAGE || undefined),
      revision: revision?.commit,
      created: epoch ? entryEpoch(epoch) : (revision?.time ?? entryEpoch()),
      mtime: entryEpoch(),
      production: options.production,
      smokeArgs: options.smokeArgs,
      smokeReady: options.smokeReady,
      smokeTimeoutSeconds: options.smokeTimeout,
      log: (line) => console.log(line),
    });
    if (result.skipped) console.warn(`SKIPPED ${options.outputPath}: ${result.skipped}`);
    else
      console.log(`image ${result.imageId} tagged ${result.tags!.join(', ')}, built by ${BUILT_BY[result.builder]}: ${options.outputPath}`);
  });
}
