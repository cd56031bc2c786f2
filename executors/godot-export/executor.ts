import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { exportGodotProject } from '@spacetime/release-kit/src/build/godot-export';
import { readVersion } from '@spacetime/release-kit/src/versioning/version-file';
import { runExecutor } from '../run-executor';
import type { GodotExportExecutorSchema } from './schema';

export default async function godotExport(options: GodotExportExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const projectRoot = context.projectsConfigurations!.projects[context.projectName!].root;
    const result = await exportGodotProject({
      workspaceRoot: context.root,
      projectDir: join(context.root, projectRoot, options.project),
      preset: options.preset,
      platformPresets: options.platformPresets,
      mode: options.mode,
      outputDir: join(context.root, options.outputPath),
      name: options.name,
      version: readVersion(join(context.root, 'VERSION')),
      godot: options.godot,
      timeoutSeconds: options.timeout,
      smokeArgs: options.smokeArgs,
      smokeReady: options.smokeReady,
      smokeTimeoutSeconds: options.smokeTimeout,
      production: options.production,
      log: (line) => console.log(line),
    });
    for (const skip of result.skipped) console.warn(`SKIPPED ${skip.artifact}: ${skip.reason}`);
    if (!result.skipped.length)
      console.log(`exported with Godot ${result.godotVersion}: ${result.files.map((f) => `${options.outputPath}/${f.path}`).join(', ')}`);
  });
}
