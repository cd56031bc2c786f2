import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import type { DoctorInput, DoctorMode } from '@spacetime/release-kit/src/doctor/check';
import { readVersion } from '@spacetime/release-kit/src/versioning/version-file';
import dockerImageSchema from './docker-image/schema.json';
import godotExportSchema from './godot-export/schema.json';

interface Schema {
  properties: Record<string, { type: string; default?: unknown }>;
}

interface FoundTarget {
  id: string;
  root: string;
  options: Record<string, any>;
}

/**
 * What the doctor checks, from the Nx project graph: every target that exports with Godot, builds
 * the image or publishes, with its options as `mode` runs it (schema defaults, options, the
 * configuration of that name). The engine gets plain data.
 */
export function doctorInput(context: ExecutorContext, mode: DoctorMode): DoctorInput {
  const targets = (executor: string, schema?: Schema): FoundTarget[] =>
    Object.entries(context.projectsConfigurations!.projects).flatMap(([project, config]) =>
      Object.entries(config.targets ?? {})
        .filter(([, target]) => target.executor === executor)
        .map(([name, target]) => ({
          id: `${project}:${name}`,
          root: join(context.root, config.root),
          options: { ...defaults(schema), ...target.options, ...target.configurations?.[mode] },
        })),
    );
  const publish = targets('@spacetime/executors:publish')[0]?.options ?? {};
  return {
    mode,
    workspaceRoot: context.root,
    version: readVersion(join(context.root, 'VERSION')),
    exports: targets('@spacetime/executors:godot-export', godotExportSchema).map((t) => ({
      target: t.id,
      projectDir: join(t.root, t.options.project),
      preset: t.options.preset,
      platformPresets: t.options.platformPresets,
      mode: t.options.mode,
      outputPath: t.options.outputPath,
      godot: t.options.godot,
    })),
    images: targets('@spacetime/executors:docker-image', dockerImageSchema).map((t) => ({
      target: t.id,
      dockerfile: join(t.root, t.options.dockerfile),
      contextPath: t.options.contextPath,
      baseImage: t.options.baseImage,
      builder: t.options.builder,
      platforms: t.options.platforms,
    })),
    publish: { artifactRepo: publish.artifactRepo, registry: publish.registry },
    env: process.env,
  };
}

function defaults(schema: Schema | undefined): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(schema?.properties ?? {}).flatMap(([key, p]) => (p.default === undefined ? [] : [[key, p.default]])),
  );
}
