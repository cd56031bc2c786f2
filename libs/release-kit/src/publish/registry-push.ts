import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ReleaseError } from '../support/errors';

/** Registry credentials; the password never leaves this object except to the Docker engine. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
  /** Where they came from, for messages. */
  source: string;
}

/**
 * Credentials for `registry`: DOCKER_USERNAME and DOCKER_PASSWORD, else the `auths` entry of the
 * Docker config file (DOCKER_CONFIG or ~/.docker/config.json). Credential helpers are not read.
 */
export function registryAuth(registry: string, env: NodeJS.ProcessEnv): RegistryAuth | undefined {
  if (env.DOCKER_USERNAME || env.DOCKER_PASSWORD) {
    if (!env.DOCKER_USERNAME || !env.DOCKER_PASSWORD)
      throw new ReleaseError('set both DOCKER_USERNAME and DOCKER_PASSWORD, or neither', { file: 'DOCKER_USERNAME' });
    return {
      username: env.DOCKER_USERNAME,
      password: env.DOCKER_PASSWORD,
      serveraddress: registry,
      source: 'DOCKER_USERNAME/DOCKER_PASSWORD',
    };
  }
  const configFile = join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
  if (!existsSync(configFile)) return undefined;
  let auths: Record<string, { auth?: string; username?: string; password?: string }>;
  try {
    auths = JSON.parse(readFileSync(configFile, 'utf8')).auths ?? {};
  } catch {
    throw new ReleaseError('is not valid JSON', { file: configFile });
  }
  const found = auths[registry] ?? auths[`https://${registry}`] ?? auths[`http://${registry}`];
  if (!found) return undefined;
  const [username, ...rest] = found.auth
    ? Buffer.from(found.auth, 'base64').toString('utf8').split(':')
    : [found.username ?? '', found.password ?? ''];
  return { username, password: rest.join(':'), serveraddress: registry, source: configFile };
}

/** The Docker engine reaches the registry and it accepts the credentials (or needs none). */
export async function checkRegistry(docker: Docker, registry: string, auth: RegistryAuth | undefined): Promise<void> {
  if (auth) {
    try {
      await docker.checkAuth({ username: auth.username, password: auth.password, serveraddress: auth.serveraddress });
    } catch (e) {
      throw new ReleaseError(`the registry ${registry} refused the credentials from ${auth.source}: ${engineMessage(e)}`, {
        file: 'DOCKER_REGISTRY',
      });
    }
    return;
  }
  const scheme = isLoopback(registry) ? 'http' : 'https';
  let status: number;
  try {
    status = (await fetch(`${scheme}://${registry}/v2/`, { signal: AbortSignal.timeout(10_000) })).status;
  } catch (e) {
    throw new ReleaseError(
      `the registry ${registry} does not answer at ${scheme}://${registry}/v2/ (${(e as Error).cause ?? (e as Error).message})`,
      { file: 'DOCKER_REGISTRY' },
    );
  }
  if (status === 401)
    throw new ReleaseError(`the registry ${registry} needs credentials`, {
      file: 'DOCKER_REGISTRY',
      hint: 'set DOCKER_USERNAME and DOCKER_PASSWORD, or `docker login` it',
    });
  if (status !== 200)
    throw new ReleaseError(`the registry ${registry} answered HTTP ${status} at /v2/: it is not a Docker registry`, {
      file: 'DOCKER_REGISTRY',
    });
}

export interface PushRequest {
  docker: Docker;
  registry: string;
  /** Image ID recorded by the build (MANIFEST.json). */
  imageId: string;
  /** The saved image, loaded when the engine does not have the image. */
  tarball: string;
  repository: string;
  tags: string[];
  auth?: RegistryAuth;
  log: (line: string) => void;
}

export interface PushResult {
  references: string[];
  digest: string;
}

interface PushEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Tag?: string; Digest?: string };
}

/** Tags the release image `<registry>/<repository>:<tag>` and pushes every tag; pushing again is harmless. */
export async function pushImage(r: PushRequest): Promise<PushResult> {
  if (!(await hasImage(r.docker, r.imageId))) {
    r.log(`loading ${r.tarball} into the Docker engine`);
    const stream = await r.docker.loadImage(createReadStream(r.tarball));
    await follow(r.docker, stream as unknown as NodeJS.ReadableStream);
    if (!(await hasImage(r.docker, r.imageId)))
      throw new ReleaseError(`does not hold the image ${r.imageId} that MANIFEST.json records`, { file: r.tarball });
  }
  const image = r.docker.getImage(r.imageId);
  const target = `${r.registry}/${r.repository}`;
  const digests = new Set<string>();
  for (const tag of r.tags) {
    await image.tag({ repo: target, tag });
    const reference = `${target}:${tag}`;
    const stream = await r.docker.getImage(reference).push({
      authconfig: r.auth ? { username: r.auth.username, password: r.auth.password, serveraddress: r.auth.serveraddress } : {},
    } as never);
    const events = await follow(r.docker, stream as unknown as NodeJS.ReadableStream).catch((e) => {
      throw new ReleaseError(`the registry ${r.registry} refused the push of ${reference}: ${engineMessage(e)}`, {
        file: 'DOCKER_REGISTRY',
      });
    });
    const failed = events.find((e) => e.error || e.errorDetail?.message);
    if (failed)
      throw new ReleaseError(
        `the registry ${r.registry} refused the push of ${reference}: ${(failed.errorDetail?.message ?? failed.error ?? '').trim()}`,
        { file: 'DOCKER_REGISTRY' },
      );
    const digest = events.map((e) => e.aux?.Digest).find(Boolean);
    if (!digest) throw new ReleaseError(`the push of ${reference} reported no digest`, { file: 'DOCKER_REGISTRY' });
    digests.add(digest);
    r.log(`pushed ${reference}@${digest}`);
  }
  if (digests.size !== 1)
    throw new ReleaseError(`the tags of one image were pushed with different digests (${[...digests].join(', ')})`, {
      file: 'DOCKER_REGISTRY',
    });
  return { references: r.tags.map((t) => `${target}:${t}`), digest: [...digests][0] };
}

async function hasImage(docker: Docker, id: string): Promise<boolean> {
  try {
    await docker.getImage(id).inspect();
    return true;
  } catch {
    return false;
  }
}

function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<PushEvent[]> {
  return new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, events: PushEvent[]) => (err ? reject(err) : resolve(events))),
  );
}

/** The engine's message without the HTTP framing dockerode adds. */
function engineMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return (e.json?.message ?? e.message ?? String(error)).replace(/^\(HTTP code \d+\) [\w ]+ - /, '').trim();
}

function isLoopback(registry: string): boolean {
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(registry);
}
