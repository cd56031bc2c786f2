import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ImageIndex, MEDIA_TYPES, OciLayout } from '../build/oci-layout';
import { isLoopback, RegistryAuth, RegistryClient } from '../build/oci-registry';
import { extractImageTarball } from '../build/oci-tarball';
import { Platform, platformName } from '../build/platform';
import { ReleaseError } from '../support/errors';

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
  /** The index digest for an OCI image tarball (every platform), else the one image's. */
  digest: string;
  /** Each platform's manifest digest, for an index. */
  manifests?: Record<string, string>;
}

interface PushEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Tag?: string; Digest?: string };
}

/**
 * Pushes the release image as `<registry>/<repository>:<tag>` for every tag; pushing again is
 * harmless. A tarball holding an OCI image layout (the daemonless build) goes up as it is, through
 * the registry's API: every blob, each platform's manifest and the index by digest, then the tags,
 * then the index is read back by each tag. A `docker save` tarball (the engine's build) is pushed by
 * the Docker engine.
 */
export async function pushImage(r: PushRequest): Promise<PushResult> {
  const work = mkdtempSync(join(tmpdir(), 'spacetime-push-'));
  try {
    const layout = await extractImageTarball(r.tarball, work, r.tarball);
    return layout ? await pushIndex(r, layout) : await pushThroughEngine(r);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function pushIndex(r: PushRequest, layout: OciLayout): Promise<PushResult> {
  const [host, ...namespace] = r.registry.split('/');
  const repository = [...namespace, r.repository].join('/');
  const target = `${r.registry}/${r.repository}`;
  const top = layout.readIndex(r.tarball).manifests[0];
  if (top?.mediaType !== MEDIA_TYPES.index)
    throw new ReleaseError('holds an OCI layout whose index.json names no image index', { file: r.tarball });
  const indexBytes = layout.read(top.digest, r.tarball);
  const index = JSON.parse(indexBytes.toString('utf8')) as ImageIndex;
  const manifests = index.manifests.map((m) => ({ ...m, bytes: layout.read(m.digest, r.tarball) }));
  const configs = manifests.map(
    (m) => JSON.parse(m.bytes.toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string; size: number }> },
  );
  if (!configs.some((c) => c.config.digest === r.imageId))
    throw new ReleaseError(`does not hold the image ${r.imageId} that MANIFEST.json records`, { file: r.tarball });

  const client = new RegistryClient(host, r.auth);
  const refused = (what: string, e: unknown) =>
    new ReleaseError(`the registry ${r.registry} refused the push of ${what}: ${(e as Error).message.replace(/^.*?answered /, '')}`, {
      file: 'DOCKER_REGISTRY',
    });
  const blobs = new Map<string, number>();
  for (const c of configs)
    for (const b of [{ digest: c.config.digest, size: layout.size(c.config.digest) }, ...c.layers]) blobs.set(b.digest, b.size);
  let sent = 0;
  for (const [digest, size] of blobs) {
    try {
      if (await client.hasBlob(repository, digest)) continue;
      await client.pushBlob(repository, digest, layout.blobPath(digest), size);
      sent += size;
    } catch (e) {
      throw refused(`blob ${digest}`, e);
    }
  }
  r.log(`pushed ${blobs.size} blobs to ${target} (${(sent / (1 << 20)).toFixed(1)} MiB sent, the rest already there)`);
  for (const m of manifests) {
    await client.putManifest(repository, m.digest, m.bytes, m.mediaType).catch((e) => {
      throw refused(`${target}@${m.digest}`, e);
    });
  }
  await client.putManifest(repository, top.digest, indexBytes, MEDIA_TYPES.index).catch((e) => {
    throw refused(`${target}@${top.digest}`, e);
  });
  for (const tag of r.tags) {
    const reference = `${target}:${tag}`;
    const digest = await client.putManifest(repository, tag, indexBytes, MEDIA_TYPES.index).catch((e) => {
      throw refused(reference, e);
    });
    const back = await client.manifest(repository, tag, [MEDIA_TYPES.index]);
    const listed = (JSON.parse(back.bytes.toString('utf8')) as ImageIndex).manifests?.map((m) => m.digest) ?? [];
    if (digest !== top.digest || back.digest !== top.digest || listed.join() !== index.manifests.map((m) => m.digest).join())
      throw new ReleaseError(`${reference} reads back as ${back.digest}, not the index ${top.digest} that was pushed`, {
        file: 'DOCKER_REGISTRY',
      });
    r.log(`pushed ${reference}@${top.digest} (index of ${index.manifests.map((m) => platformText(m.platform)).join(', ')})`);
  }
  return {
    references: r.tags.map((t) => `${target}:${t}`),
    digest: top.digest,
    manifests: Object.fromEntries(index.manifests.map((m) => [platformText(m.platform), m.digest])),
  };
}

function platformText(p: Platform | undefined): string {
  return p ? platformName(p) : 'unknown';
}

async function pushThroughEngine(r: PushRequest): Promise<PushResult> {
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
