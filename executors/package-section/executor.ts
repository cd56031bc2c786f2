import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { resolveArtifacts } from '@spacetime/release-kit/src/section/artifact-set';
import { entryEpoch } from '@spacetime/release-kit/src/format/determinism';
import { VERSION_TOKEN } from '@spacetime/release-kit/src/format/version-token';
import { packSection } from '@spacetime/release-kit/src/section/packer';
import { resolveSectionSources } from '@spacetime/release-kit/src/section/sources';
import { readVersion } from '@spacetime/release-kit/src/versioning/version-file';
import { runExecutor } from '../run-executor';
import type { PackageSectionExecutorSchema } from './schema';

export default async function packageSection(options: PackageSectionExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const project = context.projectName!;
    const projectRoot = context.projectsConfigurations!.projects[project].root;
    const section = options.section ?? project;
    const version = readVersion(join(context.root, 'VERSION'));
    const sources = resolveSectionSources({
      workspaceRoot: context.root,
      projectRoot,
      version,
      sources: options.sources,
      generate: options.generate,
    });
    // Files other targets built (declared as their outputs and this target's dependsOn), with their skips and metadata.
    const artifacts = resolveArtifacts(context.root, options.artifacts);
    const skipped = [...options.skipped, ...artifacts.skipped].map((s) => ({
      ...s,
      artifact: `${section}/${s.artifact.split(VERSION_TOKEN).join(version)}`,
    }));
    const fragment = await packSection({
      workspaceRoot: context.root,
      section,
      version,
      sources: [...sources, ...artifacts.sources],
      skipped,
      metadata: artifacts.metadata,
      outputDir: join(context.root, 'dist', 'sections', project),
      mtime: entryEpoch(),
      maxFileBytes: options.maxFileBytes,
    });
    const bytes = fragment.files.reduce((sum, f) => sum + f.size, 0);
    console.log(`${section}/: ${fragment.files.length} files, ${bytes} bytes${skipped.length ? `, ${skipped.length} skipped` : ''}`);
    for (const skip of skipped) console.warn(`SKIPPED ${skip.artifact}: ${skip.reason}`);
  });
}
