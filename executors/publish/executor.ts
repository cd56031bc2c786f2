import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { DEFAULT_PART_SIZE, defaultArtifactRepo, entryEpoch, loadReleaseConfig, publishRelease, readVersion } from '@spacetime/release-kit';
import { runExecutor } from '../run-executor';
import type { PublishExecutorSchema } from './schema';

export default async function publish(options: PublishExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const configFile = options.config ?? 'libs/release/release.config.json';
    const config = loadReleaseConfig(join(context.root, configFile), configFile);
    const [artifactRepo, artifactRepoSource] = options.artifactRepo
      ? [options.artifactRepo, '--artifactRepo']
      : process.env.ARTIFACT_REPO
        ? [process.env.ARTIFACT_REPO, 'ARTIFACT_REPO']
        : [defaultArtifactRepo(context.root), 'the default repository'];
    await publishRelease({
      outputDir: join(context.root, options.outputDir ?? 'dist/release'),
      version: readVersion(join(context.root, 'VERSION')),
      sections: config.sections,
      artifactRepo,
      artifactRepoSource,
      registry: options.registry ?? (process.env.DOCKER_REGISTRY || undefined),
      force: options.force ?? false,
      acl: options.acl,
      partSize: options.partSize ? options.partSize * 2 ** 20 : DEFAULT_PART_SIZE,
      production: options.production ?? false,
      mtime: entryEpoch(),
      env: process.env,
      log: (line) => console.log(line),
      warn: (line) => console.warn(line),
    });
  });
}
