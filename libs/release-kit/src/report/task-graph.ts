import { existsSync, readFileSync } from 'node:fs';
import { ReleaseError } from '../support/errors';
import { compareBytes, stableJson } from '../support/stable-json';
import { writeAtomically } from '../support/write-atomically';

/** Where release:assemble records the task graph of its run, beside the package. */
export const TASK_GRAPH_FILE = '.task-graph.json';

/** The parts of Nx's TaskGraph (ExecutorContext.taskGraph) the report uses. */
export interface NxTaskGraph {
  tasks: Record<string, { id: string }>;
  /** Nx 24 lists edges as objects with an id; earlier versions as plain task ids. */
  dependencies: Record<string, Array<string | { id: string }>>;
}

export interface RecordedTask {
  id: string;
  dependsOn: string[];
}

export type TaskOutcome = 'ran' | 'cache' | 'failed' | 'not run' | 'no timing recorded';

export interface TaskRun extends RecordedTask {
  outcome: TaskOutcome;
  durationMs?: number;
}

export function recordTaskGraph(file: string, graph: NxTaskGraph): void {
  const tasks: RecordedTask[] = Object.keys(graph.tasks)
    .sort(compareBytes)
    .map((id) => ({ id, dependsOn: (graph.dependencies[id] ?? []).map((d) => (typeof d === 'string' ? d : d.id)).sort(compareBytes) }));
  writeAtomically(file, stableJson({ tasks }));
}

/** Nx task statuses (TaskStatus) as the report names them. */
const OUTCOMES: Record<string, TaskOutcome> = {
  success: 'ran',
  failure: 'failed',
  'local-cache': 'cache',
  'local-cache-kept-existing': 'cache',
  'remote-cache': 'cache',
  skipped: 'not run',
  stopped: 'not run',
};

/**
 * The recorded task graph with each task's outcome and duration from an Nx profile (the Chrome
 * trace NX_PROFILE writes: one complete event per task, `dur` in microseconds, `args.status`).
 * Undefined when no graph was recorded.
 */
export function readTaskRuns(graphFile: string, profileFile: string | undefined): TaskRun[] | undefined {
  if (!existsSync(graphFile)) return undefined;
  const { tasks } = readJson(graphFile) as { tasks: RecordedTask[] };
  const timings = new Map<string, { outcome: TaskOutcome; durationMs: number }>();
  if (profileFile && existsSync(profileFile)) {
    const events = readJson(profileFile);
    if (!Array.isArray(events)) throw new ReleaseError('not an Nx profile (a JSON array of trace events)', { file: profileFile });
    for (const e of events as Array<{ ph?: string; name?: string; dur?: number; args?: { status?: string } }>) {
      if (e.ph === 'X' && e.name)
        timings.set(e.name, {
          outcome: OUTCOMES[e.args?.status ?? ''] ?? 'no timing recorded',
          durationMs: Math.round((e.dur ?? 0) / 1000),
        });
    }
  }
  return tasks.map((t) => ({ ...t, ...(timings.get(t.id) ?? { outcome: 'no timing recorded' as const }) }));
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ReleaseError(`cannot be read as JSON: ${(e as Error).message}`, { file });
  }
}
