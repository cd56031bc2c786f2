import type Docker from 'dockerode';
import { withTimeout } from '../support/with-timeout';
import { judgeSmoke } from './godot-smoke';

/**
 * The built image judged by running it through the engine's API (create, start, wait, logs,
 * remove), the way Kubernetes runs it: read-only root file system, a writable /tmp, no network.
 *   1. smoke: the image's entrypoint with the smoke arguments prints its ready line, no error,
 *      and exits 0;
 *   2. health: started as it ships, the container turns healthy by the image's own HEALTHCHECK.
 */

export interface ImageSmokeOptions {
  docker: Docker;
  image: string;
  smokeArgs: string[];
  ready: RegExp;
  timeoutSeconds: number;
  /** Receives everything the containers print, and what was run. */
  log: (text: string) => void;
}

const HOST_CONFIG = { NetworkMode: 'none', ReadonlyRootfs: true, Tmpfs: { '/tmp': 'rw,mode=1777' } };
const SECOND = 1_000_000_000;

/** Why the image failed; empty when it passed. */
export async function smokeImage(o: ImageSmokeOptions): Promise<string[]> {
  const smoke = await runToExit(o);
  if (smoke.length) return smoke.map((p) => `smoke (${o.smokeArgs.join(' ')}): ${p}`);
  return (await waitHealthy(o)).map((p) => `HEALTHCHECK: ${p}`);
}

async function runToExit(o: ImageSmokeOptions): Promise<string[]> {
  o.log(`$ docker run --read-only --tmpfs /tmp --network none ${o.image} ${o.smokeArgs.join(' ')}\n`);
  const container = await o.docker.createContainer({ Image: o.image, Cmd: o.smokeArgs, HostConfig: HOST_CONFIG });
  try {
    await container.start();
    // Undefined when the time limit passed; an engine error goes up as it is.
    const exit = await withTimeout(container.wait() as Promise<{ StatusCode: number }>, o.timeoutSeconds * 1000).catch((e: Error) => {
      if (/^no answer within/.test(e.message)) return undefined;
      throw e;
    });
    if (!exit) await container.kill().catch(() => undefined);
    const output = await logsOf(container);
    o.log(output);
    return judgeSmoke(output, { code: exit?.StatusCode ?? 137, timedOut: !exit, stopped: false }, o.ready, o.timeoutSeconds);
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

interface HealthState {
  Status?: string;
  Log?: Array<{ ExitCode: number; Output: string }>;
}

async function waitHealthy(o: ImageSmokeOptions): Promise<string[]> {
  const inspect = await o.docker.getImage(o.image).inspect();
  const test = (inspect.Config as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test;
  if (!test?.length || test[0] === 'NONE') return ['the image declares none (add a HEALTHCHECK instruction to the Dockerfile)'];
  o.log(`$ docker run --read-only --tmpfs /tmp --network none ${o.image}   # until HEALTHCHECK ${JSON.stringify(test)} passes\n`);
  // The image's own test, probed every second; failures never add up to "unhealthy", the time limit decides.
  const container = await o.docker.createContainer({
    Image: o.image,
    HostConfig: HOST_CONFIG,
    Healthcheck: { Test: test, Interval: SECOND, Timeout: 10 * SECOND, Retries: 1_000_000, StartPeriod: 0 },
  });
  try {
    await container.start();
    const deadline = Date.now() + o.timeoutSeconds * 1000;
    let state: { Running?: boolean; ExitCode?: number; Health?: HealthState } = {};
    while (Date.now() < deadline) {
      state = (await container.inspect()).State as typeof state;
      if (state.Health?.Status === 'healthy' || !state.Running) break;
      await delay(250);
    }
    await container.kill().catch(() => undefined);
    o.log(await logsOf(container));
    if (state.Health?.Status === 'healthy') return [];
    const last = state.Health?.Log?.at(-1);
    const probe = last ? `; the last probe exited ${last.ExitCode}${last.Output.trim() ? `: ${last.Output.trim()}` : ''}` : '';
    return [
      state.Running === false
        ? `the server exited with code ${state.ExitCode} before it was healthy${probe}`
        : `not healthy within ${o.timeoutSeconds} s${probe}`,
    ];
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** A container's output: the engine frames stdout and stderr (8-byte headers) when it has no TTY. */
async function logsOf(container: Docker.Container): Promise<string> {
  const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length;) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
