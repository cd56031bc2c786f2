import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { ReleaseError } from '@spacetime/release-kit/src/errors';

/**
 * Runs an executor body and turns a ReleaseError into one clear message and a failed task;
 * anything else is a bug and keeps its stack.
 */
export async function runExecutor(body: () => Promise<void>): Promise<{ success: boolean }> {
  try {
    await body();
    return { success: true };
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    console.error(`ERROR ${error.message}`);
    return { success: false };
  }
}

type Executor<T> = (options: T, context: ExecutorContext) => Promise<{ success: boolean }>;

interface BatchTaskResult {
  task: string;
  result: { success: boolean; status?: 'success' | 'failure' | 'skipped'; terminalOutput: string; startTime: number; endTime: number };
}

/**
 * Nx batch implementation of an executor: every task of the batch runs in this one process, one
 * after another in dependency order, so a graph of many sections pays for one Node start and one
 * engine load instead of one per task. Each task's own output is recorded for Nx's cache.
 */
export function batchOf<T>(executor: Executor<T>) {
  return async function* runBatch(taskGraph: TaskGraph, inputs: Record<string, T>, _overrides: T, context: ExecutorContext): AsyncGenerator<BatchTaskResult> {
    const failed = new Set<string>();
    for (const id of dependencyOrder(taskGraph)) {
      const { target } = taskGraph.tasks[id];
      const startTime = Date.now();
      if ((taskGraph.dependencies[id] ?? []).some((edge) => failed.has(edge.id))) {
        failed.add(id);
        yield { task: id, result: { success: false, status: 'skipped', terminalOutput: '', startTime, endTime: startTime } };
        continue;
      }
      const output = captureOutput();
      let success = false;
      try {
        ({ success } = await executor(inputs[id], { ...context, projectName: target.project, targetName: target.target, configurationName: target.configuration }));
      } catch (error) {
        console.error((error as Error).stack ?? String(error));
      }
      const terminalOutput = output.stop();
      if (!success) failed.add(id);
      yield { task: id, result: { success, terminalOutput, startTime, endTime: Date.now() } };
    }
  };
}

function dependencyOrder(taskGraph: TaskGraph): string[] {
  const order: string[] = [];
  const visit = (id: string) => {
    if (order.includes(id) || !taskGraph.tasks[id]) return;
    for (const edge of taskGraph.dependencies[id] ?? []) visit(edge.id);
    order.push(id);
  };
  for (const id of Object.keys(taskGraph.tasks).sort()) visit(id);
  return order;
}

/**
 * Takes over what this process writes to stdout and stderr until stop(), which returns it: Nx
 * prints each batch task's output under its own heading, so passing it through would print it twice.
 */
function captureOutput(): { stop(): string } {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }) as typeof stream.write;
  }
  return {
    stop() {
      streams.forEach((stream, i) => (stream.write = originals[i]));
      return chunks.join('');
    },
  };
}
