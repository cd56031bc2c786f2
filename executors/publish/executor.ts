import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { entryEpoch } from '@spacetime/release-kit/src/format/determinism';
import { loadReleaseConfig } from '@spacetime/release-kit/src/format/release-config';
import { chooseArtifactRepo } from '@spacetime/release-kit/src/publish/artifact-repository';
import { DEFAULT_PART_SIZE, publishRelease } from '@spacetime/release-kit/src/publish/publish';
import { readVersion } from '@spacetime/release-kit/src/versioning/version-file';
import { runExecutor } from '../run-executor';
import type { PublishExecutorSchema } from './schema';

export default async function publish(options: PublishExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const configFile = options.config;
    const config = loadReleaseConfig(join(context.root, configFile), configFile);
    const { url: artifactRepo, source: artifactRepoSource } = chooseArtifactRepo(
      options.artifactRepo,
      process.env,
      context.root,
      '--artifactRepo',
    );
    await publishRelease({
      outputDir: join(context.root, options.outputDir),
      outputDirShownAs: options.outputDir,
      version: readVersion(join(context.root, 'VERSION')),
      sections: config.sections,
      artifactRepo,
      artifactRepoSource,
      registry: options.registry ?? (process.env.DOCKER_REGISTRY || undefined),
      force: options.force,
      acl: options.acl,
      partSize: options.partSize ? options.partSize * 2 ** 20 : DEFAULT_PART_SIZE,
      production: options.production,
      snapshot: options.snapshot,
      mtime: entryEpoch(),
      env: process.env,
      log: (line) => console.log(line),
      warn: (line) => console.warn(line),
    });
  });
}
