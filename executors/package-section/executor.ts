import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { entryEpoch, packSection, readVersion, resolveSectionSources } from '@spacetime/release-kit';
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
      sources: options.sources ?? [{ from: 'src', to: '.' }],
      generate: options.generate,
    });
    const skipped = (options.skipped ?? []).map((s) => ({ ...s, artifact: `${section}/${s.artifact.split('{{version}}').join(version)}` }));
    const fragment = await packSection({
      section,
      version,
      sources,
      skipped,
      outputDir: join(context.root, 'dist', 'sections', project),
      mtime: entryEpoch(),
    });
    const bytes = fragment.files.reduce((sum, f) => sum + f.size, 0);
    console.log(`${section}/: ${fragment.files.length} files, ${bytes} bytes${skipped.length ? `, ${skipped.length} skipped` : ''}`);
    for (const skip of skipped) console.warn(`SKIPPED ${skip.artifact}: ${skip.reason}`);
  });
}
