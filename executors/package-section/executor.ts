import type { ExecutorContext } from '@nx/devkit';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { nxFileMap, nxProjectGraph, readFileMapCache } from 'nx/src/project-graph/nx-deps-cache';
import { resolveArtifacts } from '@spacetime/release-kit/src/section/artifact-set';
import { entryEpoch } from '@spacetime/release-kit/src/format/determinism';
import { VERSION_TOKEN } from '@spacetime/release-kit/src/format/version-token';
import { pieceStoreDir } from '@spacetime/release-kit/src/archive/piece-store';
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
      projectFiles: await projectFiles(context, project),
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
      pieceStore: pieceStoreDir(context.root, project),
      log: (line) => console.log(`${section}/: ${line}`),
    });
    const bytes = fragment.files.reduce((sum, f) => sum + f.size, 0);
    console.log(`${section}/: ${fragment.files.length} files, ${bytes} bytes${skipped.length ? `, ${skipped.length} skipped` : ''}`);
    for (const skip of skipped) console.warn(`SKIPPED ${skip.artifact}: ${skip.reason}`);
  });
}

/**
 * The project's files as Nx's file map has them: tracked files plus untracked files git does not
 * ignore (less .nxignore), the list this task's hash was computed from, so what ships is what the
 * hash covers whether the task runs or comes from the cache. Nx writes that map beside the project
 * graph this task's context was read from (`readCachedProjectGraph`); reading it costs a JSON parse,
 * where asking for a new one (`createProjectFileMapUsingProjectGraph`) walks the workspace again, or
 * asks the daemon for every file of it, and loads @nx/devkit into the task process. The new one is
 * the fallback, for a map that is missing or older than the graph (one Nx wrote with errors).
 */
async function projectFiles(context: ExecutorContext, project: string): Promise<string[]> {
  let fresh = false;
  try {
    fresh = statSync(nxFileMap).mtimeMs >= statSync(nxProjectGraph).mtimeMs;
  } catch {
    // no map written: ask for one
  }
  const cached = fresh ? readFileMapCache()?.fileMap?.projectFileMap?.[project] : undefined;
  if (cached) return cached.map((f) => f.file);
  const { createProjectFileMapUsingProjectGraph } = await import('@nx/devkit');
  const map = await createProjectFileMapUsingProjectGraph(context.projectGraph);
  return (map[project] ?? []).map((f) => f.file);
}
