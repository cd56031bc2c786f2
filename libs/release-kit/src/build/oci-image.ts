import { posix } from 'node:path';
import { ReleaseError } from '../support/errors';
import { Dockerfile } from './dockerfile';
import { CopyStep, planImage, platformArgs } from './dockerfile-plan';
import { BaseImage, BaseImages } from './oci-base';
import { LayerFile, writeLayer, WrittenLayer } from './oci-layer';
import { Descriptor, HistoryEntry, ImageConfigFile, ImageManifest, MEDIA_TYPES, OciLayout } from './oci-layout';
import { dockerManifest, writeImageTarball } from './oci-tarball';
import { hostPlatform, Platform, platformName } from './platform';

/**
 * The daemonless image build: for each platform, that platform's base image plus one layer per
 * COPY of the Dockerfile, the image config its instructions set, then an image index of them all;
 * written as an OCI image layout with Docker's manifest.json for one platform, in one tarball.
 * Nothing runs inside the image, so nothing depends on the machine that builds it: two builds of
 * the same inputs give the same bytes.
 */

/** A file of the build context: its path in the context, where it is, its mode. */
export interface ContextFile {
  name: string;
  file: string;
  mode: number;
}

export interface OciImageOptions {
  dockerfile: Dockerfile;
  buildArgs: Record<string, string>;
  base: BaseImages;
  /** The first one's image is the one Docker's manifest.json describes. */
  platforms: Platform[];
  /** The build context of one platform. */
  context: (platform: Platform) => ContextFile[];
  /** Labels set last (the OCI annotation labels of the release), also the index's annotations. */
  labels: Record<string, string>;
  /** Seconds since 1970: the config's and history's `created`. */
  created: number;
  /** Seconds since 1970: every tar entry's mtime. */
  mtime: number;
  /** `spacetime-vr:dev`, ...: Docker's RepoTags; the first tag names the index in index.json. */
  references: string[];
  /** A work folder for the layout. */
  layoutDir: string;
  tarball: string;
}

export interface PlatformImage {
  platform: Platform;
  manifest: Descriptor;
  config: Descriptor;
  base: BaseImage;
  /** The layers this build wrote, in order, with their files. */
  layers: WrittenLayer[];
}

export interface OciImage {
  index: Descriptor;
  images: PlatformImage[];
  tarball: { size: number; sha256: string };
}

export async function buildOciImage(o: OciImageOptions): Promise<OciImage> {
  const layout = new OciLayout(o.layoutDir);
  layout.remove();
  const created = new Date(o.created * 1000).toISOString().replace('.000Z', 'Z');
  const images: PlatformImage[] = [];
  for (const platform of o.platforms) {
    const base = o.base.images.get(platformName(platform))!;
    for (const layer of base.layers) layout.adopt(layer.file, layer.descriptor.digest);
    const plan = planImage(o.dockerfile, {
      baseConfig: base.config.config ?? {},
      baseAuthor: base.config.author,
      buildArgs: { ...o.buildArgs, ...platformArgs(platform, hostPlatform()) },
    });
    const context = o.context(platform);
    const layers: WrittenLayer[] = [];
    const history: HistoryEntry[] = [...(base.config.history ?? [])];
    for (const step of plan.steps) {
      if (step.copy) layers.push(await writeLayer(layout, copiedFiles(step.copy, context, o.dockerfile.file), o.mtime));
      history.push({ created, created_by: step.createdBy, comment: 'daemonless build', ...(step.copy ? {} : { empty_layer: true }) });
    }
    const configFile: ImageConfigFile = {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created,
      ...(plan.author ? { author: plan.author } : {}),
      config: { ...plan.config, Labels: { ...plan.config.Labels, ...o.labels } },
      rootfs: { type: 'layers', diff_ids: [...base.config.rootfs.diff_ids, ...layers.map((l) => l.diffId)] },
      history,
    };
    const config = layout.putJson(configFile, MEDIA_TYPES.config);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config,
      layers: [...base.layers.map((l) => l.descriptor), ...layers.map((l) => l.descriptor)],
      annotations: baseAnnotations(o.base, base),
    };
    const descriptor = layout.putJson(manifest, MEDIA_TYPES.manifest);
    images.push({ platform, manifest: { ...descriptor, platform }, config, base, layers });
  }
  const index = layout.putJson(
    { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: images.map((i) => i.manifest), annotations: o.labels },
    MEDIA_TYPES.index,
  );
  const tag = o.references[0].slice(o.references[0].lastIndexOf(':') + 1);
  layout.writeIndex([{ ...index, annotations: { 'org.opencontainers.image.ref.name': tag } }]);
  // Docker's manifest.json (all that `docker load` reads before Docker 25) describes the first platform.
  const docker = images[0];
  const manifestJson = dockerManifest(
    docker.config.digest,
    [...docker.base.layers, ...docker.layers].map((l) => l.descriptor.digest),
    o.references,
  );
  const tarball = await writeImageTarball(layout, manifestJson, o.tarball, o.mtime);
  layout.remove();
  return { index, images, tarball };
}

/** The image-spec's annotations naming the base image a manifest was built on. */
function baseAnnotations(base: BaseImages, image: BaseImage): Record<string, string> | undefined {
  if (base.source.kind === 'scratch') return undefined;
  return { 'org.opencontainers.image.base.name': base.source.text, 'org.opencontainers.image.base.digest': image.manifestDigest };
}

/**
 * The files a COPY adds, as Docker copies them: a file to the destination (into it, when it ends
 * in `/` or there are several sources), a folder's contents into the destination; `*`, `?` and
 * `[...]` match within one path segment.
 */
export function copiedFiles(step: CopyStep, context: ContextFile[], dockerfile: string): LayerFile[] {
  const where = { file: dockerfile, line: step.line };
  const intoFolder = step.destination.endsWith('/') || step.sources.length > 1;
  const out: LayerFile[] = [];
  for (const raw of step.sources) {
    const source = posix.normalize(`/${raw}`).slice(1).replace(/\/$/, '');
    if (posix.normalize(raw).startsWith('..')) throw new ReleaseError(`COPY ${raw}: a source outside the build context`, where);
    const match = globPattern(source);
    const hits = context.flatMap((f): Array<{ f: ContextFile; under?: string }> => {
      if (source === '' || f.name.startsWith(`${source}/`)) return [{ f, under: source }];
      if (f.name === source || match.test(f.name)) return [{ f }];
      const folder = ancestors(f.name).find((d) => match.test(d));
      return folder ? [{ f, under: folder }] : [];
    });
    if (!hits.length)
      throw new ReleaseError(`COPY ${raw}: not in the build context`, {
        ...where,
        hint: `the context holds: ${context.map((f) => f.name).join(', ') || 'nothing'}`,
      });
    for (const { f, under } of hits) {
      const folderCopy = under !== undefined || hits.length > 1;
      const name = under !== undefined ? (under === '' ? f.name : f.name.slice(under.length + 1)) : posix.basename(f.name);
      const path = intoFolder || folderCopy ? posix.join(step.destination, name) : step.destination;
      out.push({ path, source: f.file, mode: step.chmod ?? f.mode });
    }
  }
  return out;
}

function ancestors(path: string): string[] {
  const found: string[] = [];
  for (let d = posix.dirname(path); d !== '.'; d = posix.dirname(d)) found.push(d);
  return found;
}

/** Go's filepath.Match for one path: `*` and `?` stay within a segment, `[...]` is a class, `\\` escapes. */
function globPattern(pattern: string): RegExp {
  const literal = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const classEnd = c === '[' ? pattern.indexOf(']', i + 2) : -1;
    if (c === '\\' && i + 1 < pattern.length) source += literal(pattern[++i]);
    else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (classEnd > 0) {
      source += pattern.slice(i, classEnd + 1);
      i = classEnd;
    } else source += literal(c);
  }
  return new RegExp(`^${source}$`);
}
