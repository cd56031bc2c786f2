import { ReleaseError } from '@spacetime/release-kit/src/support/errors';

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
