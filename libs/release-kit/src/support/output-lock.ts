import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReleaseError } from './errors';
import { partialPathFor } from './move-into-place';
import { isAlive } from './process-alive';
import { finishInterruptedSwap } from './swap-journal';

/** Held by the one assembly that may write an output folder; it holds that process's pid. */
export const LOCK_FILE = '.assemble.lock';
const POLL_MS = 200;
const WAIT_MS = 30 * 60_000;

/**
 * Runs `body` while holding `dir`/.assemble.lock, so that assemblies of one workspace (and whatever
 * reads their outputs under the lock) take turns. A lock whose process is gone (killed, crashed) is
 * taken over; a live one is waited for. A swap that a dead holder left half done is finished first.
 */
export async function withOutputLock<T>(dir: string, shownDir: string, log: (line: string) => void, body: () => Promise<T>): Promise<T> {
  const lock = join(dir, LOCK_FILE);
  const started = Date.now();
  let waitingFor: number | undefined;
  while (!tryLock(lock)) {
    const holder = lockHolder(lock);
    if (holder !== undefined && !isAlive(holder)) {
      takeOverStale(lock, holder);
      log(`took over ${shownDir}/${LOCK_FILE} from pid ${holder}, which is gone`);
      continue;
    }
    if (holder !== waitingFor) log(`waiting for pid ${holder}, which holds ${shownDir}/${LOCK_FILE} (an assembly or a publish)`);
    waitingFor = holder;
    if (Date.now() - started > WAIT_MS)
      throw new ReleaseError(`pid ${holder} (an assembly or a publish) has held the lock for over ${WAIT_MS / 60_000} minutes`, {
        file: `${shownDir}/${LOCK_FILE}`,
        hint: 'stop it, or remove the lock if that pid is neither an assembly nor a publish',
      });
    await sleep(POLL_MS);
  }
  try {
    if (finishInterruptedSwap(dir)) log(`finished the swap of outputs that an interrupted run left in ${shownDir}`);
    return await body();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Creates the lock with our pid in it in one step (a hard link of a finished file), or reports it taken. */
function tryLock(lock: string): boolean {
  const staged = partialPathFor(lock);
  writeFileSync(staged, `${process.pid}\n`);
  try {
    linkSync(staged, lock);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(staged, { force: true });
  }
}

function lockHolder(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return undefined; // released in the meantime
  }
}

/**
 * Removes a dead holder's lock without removing a live one that replaced it meanwhile: the lock
 * is renamed aside first, and put back if it turns out to be someone else's.
 */
function takeOverStale(lock: string, deadPid: number): void {
  const aside = partialPathFor(lock, 'stale-lock');
  try {
    renameSync(lock, aside);
  } catch {
    return;
  }
  if (lockHolder(aside) !== deadPid) {
    try {
      linkSync(aside, lock);
    } catch {
      // a third process locked in between; it holds the lock now
    }
  }
  rmSync(aside, { force: true });
}
