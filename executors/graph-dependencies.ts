import { DependencyType, type CreateDependencies } from '@nx/devkit';

/** nx.json options: the project that holds each local executor package. */
export interface GraphDependenciesOptions {
  executorProjects: Record<string, string>;
}

/**
 * Nx infers no project dependency from a target's `executor`, so a project running
 * `@spacetime/executors:<name>` would not depend on the executors project in the graph
 * (distribution, `nx graph`, and `^` inputs of its dependents need the edge).
 */
export const createDependencies: CreateDependencies<GraphDependenciesOptions> = (options, context) =>
  Object.values(context.projects).flatMap((project) => {
    const used = new Set(Object.values(project.targets ?? {}).map((t) => options?.executorProjects[t.executor?.split(':')[0] ?? '']));
    return [...used]
      .filter((target): target is string => !!target && target !== project.name)
      .map((target) => ({ source: project.name!, target, type: DependencyType.static, sourceFile: `${project.root}/project.json` }));
  });
