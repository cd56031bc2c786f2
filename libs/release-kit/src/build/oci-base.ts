import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { ReleaseError } from '../support/errors';
import { Descriptor, ImageConfigFile, ImageIndex, ImageManifest, MEDIA_TYPES, ociLayerType, OciLayout } from './oci-layout';
import { parseImageReference, RegistryAuth, RegistryClient } from './oci-registry';
import { Platform, platformMatches, platformName } from './platform';

/**
 * The base image of each platform, from where the Dockerfile's FROM says, pinned by digest:
 *   scratch                                   no base;
 *   oci-layout://<folder>@sha256:<digest>     an OCI image layout on disk (relative to the workspace);
 *   <registry>/<name>[:<tag>]@sha256:<digest> a registry, by digest (the tag is only a reminder).
 * The digest names an image index (one image per platform) or a single image. Every blob is
 * checked against its digest; a registry's blobs are kept in a content-addressed cache.
 */

/** `text` is the reference as outputs record it: never an absolute path (a layout outside the workspace goes by its folder's name). */
export type BaseSource =
  | { kind: 'scratch'; text: string }
  | { kind: 'layout'; text: string; folder: string; digest: string }
  | { kind: 'registry'; text: string; registry: string; repository: string; digest: string };

const LAYOUT = /^oci-layout:\/\/(.+)@(sha256:[0-9a-f]{64})$/;

/** A base image named by a tag alone: what it is changes without the Dockerfile changing. */
export class UnpinnedBase extends ReleaseError {}

/** Reads a FROM reference; one that is not pinned by digest is an error naming where it is written. */
export function parseBaseSource(text: string, workspaceRoot: string, where: { file: string; line?: number }): BaseSource {
  if (text === 'scratch') return { kind: 'scratch', text };
  const layout = LAYOUT.exec(text);
  if (layout) {
    const folder = resolve(workspaceRoot, layout[1]);
    const inWorkspace = relative(workspaceRoot, folder);
    const name = inWorkspace && !inWorkspace.startsWith('..') && !isAbsolute(inWorkspace) ? inWorkspace : basename(folder);
    return { kind: 'layout', text: `oci-layout://${name}@${layout[2]}`, folder, digest: layout[2] };
  }
  if (text.startsWith('oci-layout://'))
    throw new ReleaseError(`FROM ${text}: an OCI layout is named oci-layout://<folder>@sha256:<digest of its index or image>`, where);
  const ref = parseImageReference(text, where.file);
  if (!ref.digest)
    throw new UnpinnedBase(`FROM ${text}: the base image is not pinned by digest`, {
      ...where,
      hint: `name it by digest, ${text.replace(/:[^/:]*$/, '')}@sha256:<index digest> (\`skopeo inspect --raw docker://${text} | sha256sum\`), or as a local OCI layout, oci-layout://<folder>@sha256:<digest>`,
    });
  return { kind: 'registry', text, registry: ref.registry, repository: ref.repository, digest: ref.digest };
}

export interface BaseLayer {
  descriptor: Descriptor;
  /** The blob on disk, its digest checked. */
  file: string;
}

/** One platform's base image. */
export interface BaseImage {
  platform: Platform;
  manifestDigest: string;
  config: ImageConfigFile;
  layers: BaseLayer[];
}

export interface BaseImages {
  source: BaseSource;
  images: Map<string, BaseImage>;
}

const ACCEPT = [MEDIA_TYPES.index, MEDIA_TYPES.manifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest];

/** Where base blobs come from: manifests (by the manifest API of a registry) and blob files, each checked against its digest. */
interface BlobSource {
  manifest(digest: string): Promise<Buffer>;
  file(digest: string): Promise<string>;
}

export async function loadBaseImages(
  source: BaseSource,
  platforms: Platform[],
  o: { workspaceRoot: string; cacheDir: string; auth?: RegistryAuth; log: (line: string) => void },
): Promise<BaseImages> {
  if (source.kind === 'scratch') {
    const images = new Map(platforms.map((p) => [platformName(p), scratch(p)]));
    return { source, images };
  }
  const blobs = source.kind === 'layout' ? layoutBlobs(source, o.workspaceRoot) : registryBlobs(source, o.cacheDir, o.auth, o.log);
  const top = parseJson<ImageIndex & ImageManifest>(await blobs.manifest(source.digest), source.text);
  const isIndex = isImageIndex(top);
  const images = new Map<string, BaseImage>();
  for (const platform of platforms) {
    let manifestDigest = source.digest;
    let manifest = top as ImageManifest;
    if (isIndex) {
      manifestDigest = platformManifest(top, platform, source.text);
      manifest = parseJson<ImageManifest>(await blobs.manifest(manifestDigest), `${source.text} (${platformName(platform)})`);
    }
    const config = parseJson<ImageConfigFile>(readFileSync(await blobs.file(manifest.config.digest)), `${source.text} config`);
    const single = { os: config.os, architecture: config.architecture, variant: config.variant };
    if (!isIndex && !platformMatches(platform, single))
      throw new ReleaseError(`the base image is a single ${platformName(single)} image: it has no ${platformName(platform)} image`, {
        file: source.text,
        hint: 'pin the digest of its index (the multi-platform image), not of one platform',
      });
    const layers: BaseLayer[] = [];
    for (const layer of manifest.layers ?? []) {
      const mediaType = ociLayerType(layer.mediaType);
      if (!mediaType)
        throw new ReleaseError(`has a layer of type ${layer.mediaType}, which this build does not carry`, { file: source.text });
      layers.push({ descriptor: { mediaType, digest: layer.digest, size: layer.size }, file: await blobs.file(layer.digest) });
    }
    if (config.rootfs?.diff_ids?.length !== layers.length)
      throw new ReleaseError(`its config lists ${config.rootfs?.diff_ids?.length ?? 0} layers and its manifest ${layers.length}`, {
        file: `${source.text} (${platformName(platform)})`,
      });
    images.set(platformName(platform), { platform, manifestDigest, config, layers });
  }
  return { source, images };
}

function isImageIndex(top: ImageIndex | ImageManifest): top is ImageIndex {
  return top.mediaType === MEDIA_TYPES.index || top.mediaType === MEDIA_TYPES.dockerList || Array.isArray((top as ImageIndex).manifests);
}

function offeredPlatforms(index: ImageIndex): Array<Descriptor & { platform: Platform }> {
  return (index.manifests ?? []).filter((d): d is Descriptor & { platform: Platform } => !!d.platform);
}

/** The digest of `platform`'s image in an index; an error naming the platforms it has when it has none. */
function platformManifest(index: ImageIndex, platform: Platform, text: string): string {
  const offered = offeredPlatforms(index);
  const chosen = offered.find((d) => platformMatches(platform, d.platform));
  if (!chosen) {
    const has = offered.map((d) => platformName(d.platform)).join(', ') || 'none';
    throw new ReleaseError(`the base image has no ${platformName(platform)} image; it has: ${has}`, { file: text });
  }
  return chosen.digest;
}

/** Where a registry's base blobs are kept between builds, by digest. */
export function baseImageCache(workspaceRoot: string): string {
  return join(workspaceRoot, 'node_modules', '.cache', 'spacetime-base-images');
}

/** Where a probed base was found, and the platforms its index offers (none listed for a single image). */
export interface BaseProbe {
  from: 'layout' | 'cache' | 'registry';
  kind: 'index' | 'image';
  platforms: string[];
}

/**
 * Whether a build could take the pinned base for `platforms`, asked as loadBaseImages asks but
 * without reading a layer or writing anything: a layout must be one and hold the digest and every
 * blob of those platforms; a registry's base needs no network when the cache holds all of them,
 * else the registry must answer the manifest of that digest within `timeoutMs`. Throws what the
 * build would meet: a ReleaseError naming what is wrong, and RegistryUnreachable (or a plain
 * network error) when the registry does not answer.
 */
export async function probeBaseImage(
  source: Exclude<BaseSource, { kind: 'scratch' }>,
  platforms: Platform[],
  o: { workspaceRoot: string; cacheDir: string; auth?: RegistryAuth; timeoutMs: number },
): Promise<BaseProbe> {
  const judge = (bytes: Buffer) => {
    const top = parseJson<ImageIndex & ImageManifest>(bytes, source.text);
    if (isImageIndex(top))
      return {
        kind: 'index' as const,
        platforms: offeredPlatforms(top).map((d) => platformName(d.platform)),
        manifests: platforms.map((p) => platformManifest(top, p, source.text)),
      };
    if (platforms.length > 1)
      throw new ReleaseError(`the base image is a single image: it cannot serve ${platforms.map(platformName).join(' and ')}`, {
        file: source.text,
        hint: 'pin the digest of its index (the multi-platform image), not of one platform',
      });
    return { kind: 'image' as const, platforms: [], manifests: [source.digest] };
  };
  if (source.kind === 'layout') {
    const layout = new OciLayout(source.folder);
    const shown = isAbsolute(relative(o.workspaceRoot, source.folder)) ? source.folder : relative(o.workspaceRoot, source.folder);
    layout.readIndex(shown);
    const { kind, platforms: offered, manifests } = judge(layout.read(source.digest, shown));
    const missing = missingBlob(layout, manifests, shown);
    if (missing) throw new ReleaseError(`has no blob ${missing}, which the base image ${source.text} needs`, { file: shown });
    return { from: 'layout', kind, platforms: offered };
  }
  const cache = new OciLayout(o.cacheDir);
  if (cache.has(source.digest)) {
    const { kind, platforms: offered, manifests } = judge(cache.read(source.digest, o.cacheDir));
    if (!missingBlob(cache, manifests, o.cacheDir)) return { from: 'cache', kind, platforms: offered };
  }
  const client = new RegistryClient(source.registry, o.auth, o.timeoutMs);
  const { kind, platforms: offered } = judge((await client.manifest(source.repository, source.digest, ACCEPT)).bytes);
  return { from: 'registry', kind, platforms: offered };
}

/** The first blob of these images (manifest, config, layers) the layout lacks; their digests are checked when the build reads them. */
function missingBlob(layout: OciLayout, manifests: string[], shown: string): string | undefined {
  for (const digest of manifests) {
    if (!layout.has(digest)) return digest;
    const manifest = parseJson<ImageManifest>(layout.read(digest, shown), `${shown} ${digest}`);
    const absent = [manifest.config, ...(manifest.layers ?? [])].find((d) => !layout.has(d.digest));
    if (absent) return absent.digest;
  }
  return undefined;
}

function scratch(platform: Platform): BaseImage {
  return {
    platform,
    manifestDigest: '',
    config: { ...platform, rootfs: { type: 'layers', diff_ids: [] }, config: {} },
    layers: [],
  };
}

function parseJson<T>(bytes: Buffer, where: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (e) {
    throw new ReleaseError(`is not a JSON document: ${(e as Error).message}`, { file: where });
  }
}

function layoutBlobs(source: Extract<BaseSource, { kind: 'layout' }>, workspaceRoot: string): BlobSource {
  const layout = new OciLayout(source.folder);
  const shown = isAbsolute(relative(workspaceRoot, source.folder)) ? source.folder : relative(workspaceRoot, source.folder);
  layout.readIndex(shown);
  return {
    manifest: async (digest) => layout.read(digest, shown),
    file: async (digest) => {
      const file = layout.blobPath(digest);
      await checkFile(file, digest, shown);
      return file;
    },
  };
}

function registryBlobs(
  source: Extract<BaseSource, { kind: 'registry' }>,
  cacheDir: string,
  auth: RegistryAuth | undefined,
  log: (line: string) => void,
): BlobSource {
  const client = new RegistryClient(source.registry, auth);
  const cache = new OciLayout(cacheDir);
  return {
    manifest: async (digest) => {
      if (!cache.has(digest)) cache.put((await client.manifest(source.repository, digest, ACCEPT)).bytes, MEDIA_TYPES.manifest);
      return cache.read(digest, cacheDir);
    },
    file: async (digest) => {
      const file = cache.blobTarget(digest);
      if (cache.has(digest)) await checkFile(file, digest, cacheDir);
      else {
        log(`pulling ${source.registry}/${source.repository}@${digest}`);
        await client.blobToFile(source.repository, digest, file);
      }
      return file;
    },
  };
}

async function checkFile(file: string, digest: string, shown: string): Promise<void> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch {
    throw new ReleaseError(`has no blob ${digest}`, { file: shown });
  }
  if (`sha256:${hash.digest('hex')}` !== digest)
    throw new ReleaseError(`blob ${digest} does not have that digest: it is damaged`, { file: shown });
}
