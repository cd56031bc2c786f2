import { createReadStream, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type Docker from 'dockerode';
import { FILE_MODE } from '../format/determinism';
import { Skip } from '../format/fragment';
import { writeArtifactSet } from '../section/artifact-set';
import { ReleaseError } from '../support/errors';
import { partialPathFor } from '../support/move-into-place';
import { withTimeout } from '../support/with-timeout';
import { dockerTags } from '../versioning/docker-tags';
import {
  buildAndSaveImage,
  checkImage,
  dockerClient,
  engineAddress,
  IMAGE_REPOSITORY,
  ImageBuildOptions,
  ImageBuildResult,
  imageLabels,
  mib,
  startImageBuild,
} from './docker-image';
import { Dockerfile, readDockerfile } from './dockerfile';
import { baseReference, engineOnly } from './dockerfile-plan';
import { platformContext } from './export-context';
import { imageSbom } from './image-sbom';
import { baseImageCache, loadBaseImages, parseBaseSource, UnpinnedBase } from './oci-base';
import { buildOciImage, ContextFile, OciImage } from './oci-image';
import { registryAuth, RegistryUnreachable } from './oci-registry';
import { OsFacts, readOsFacts } from './os-packages';
import { hostPlatform, parsePlatform, Platform, platformName } from './platform';

/**
 * Which path builds the image, and the daemonless one. `files` builds every platform from files
 * (the base image pinned by digest, one layer per COPY), then the Docker engine loads the host's
 * image and runs it; `engine` is the Docker engine's own build, one platform; `auto` takes
 * `files` unless the Dockerfile needs the engine (RUN, ADD, ONBUILD, stages) or names a base that
 * is not pinned, and says which and why.
 */

export type ImageBuilder = 'auto' | 'files' | 'engine';

export interface ReleaseImageOptions extends ImageBuildOptions {
  builder: ImageBuilder;
  /** `linux/amd64`, `linux/arm64`: the platforms of the daemonless build; the first is the one Docker's manifest.json describes. */
  platforms: string[];
}

export type ReleaseImageResult = ImageBuildResult & { builder: 'files' | 'engine' };

export function imageSbomName(version: string): string {
  return `${IMAGE_REPOSITORY}-${version}.image.cdx.json`;
}

export async function buildReleaseImage(o: ReleaseImageOptions): Promise<ReleaseImageResult> {
  const shown = relative(o.workspaceRoot, o.dockerfile);
  if (!existsSync(o.dockerfile)) throw new ReleaseError('is missing', { file: shown });
  const dockerfile = readDockerfile(readFileSync(o.dockerfile, 'utf8'), shown);
  const path = imageBuildPath(o.builder, dockerfile, o);
  if (path.builder === 'engine') {
    const reason = path.needs && `${shown}${path.needs.line ? `:${path.needs.line}` : ''}: ${path.needs.why}`;
    if (reason) o.log?.(`WARNING ${reason}: the Docker engine builds the image, for ${platformName(hostPlatform())} only`);
    return { ...(await buildAndSaveImage({ ...o, engineReason: reason })), builder: 'engine' };
  }
  return { ...(await buildFromFiles(o, dockerfile)), builder: 'files' };
}

/** A Dockerfile step (or its base) that only the Docker engine builds, and its line. */
export interface EngineNeed {
  why: string;
  line?: number;
}

/**
 * Which path builds this Dockerfile's image for the `builder` option: `files`, or `engine` (with
 * why, when `auto` chose it). `builder: files` with a step only the engine builds is an error, as
 * is a FROM that cannot be read. release:doctor asks the same question.
 */
export function imageBuildPath(
  builder: ImageBuilder,
  dockerfile: Dockerfile,
  o: Pick<ImageBuildOptions, 'version' | 'baseImage' | 'workspaceRoot'>,
): { builder: 'files' } | { builder: 'engine'; needs?: EngineNeed } {
  if (builder === 'engine') return { builder: 'engine' };
  const needs = engineReason(dockerfile, o);
  if (!needs) return { builder: 'files' };
  if (builder === 'files')
    throw new ReleaseError(`${needs.why}: the daemonless build only adds files`, {
      file: dockerfile.file,
      line: needs.line,
      hint: `set the image target's builder option to "engine" (the Docker engine builds it, for its platform only), or remove the step`,
    });
  return { builder: 'engine', needs };
}

/** Why the daemonless build cannot make this Dockerfile's image, or undefined when it can. */
function engineReason(
  dockerfile: Dockerfile,
  o: Pick<ImageBuildOptions, 'version' | 'baseImage' | 'workspaceRoot'>,
): EngineNeed | undefined {
  const [first, ...more] = engineOnly(dockerfile);
  if (first)
    return {
      why: `${first.why}${more.length ? ` (and ${more.length} more step${more.length > 1 ? 's' : ''} only the engine builds)` : ''}`,
      line: first.line,
    };
  const { reference, line } = baseReference(dockerfile, buildArgs(o));
  try {
    parseBaseSource(reference, o.workspaceRoot, { file: dockerfile.file, line });
  } catch (e) {
    if (e instanceof UnpinnedBase) return { why: `the base image ${reference} is not pinned by digest`, line };
    throw e;
  }
  return undefined;
}

/** The build arguments both paths pass: VERSION, and BASE_IMAGE when given. */
export function buildArgs(o: Pick<ImageBuildOptions, 'version' | 'baseImage'>): Record<string, string> {
  return { VERSION: o.version, ...(o.baseImage ? { BASE_IMAGE: o.baseImage } : {}) };
}

async function buildFromFiles(o: ReleaseImageOptions, dockerfile: Dockerfile): Promise<ImageBuildResult> {
  const say = o.log ?? (() => undefined);
  const start = await startImageBuild(o);
  if (!('context' in start)) return start;
  const { shown, tarballName, skip, context, smokeArgs, ready } = start;
  const skipped: Skip[] = [];
  const recordSkip = (artifact: string, reason: string) => {
    if (o.production) throw new ReleaseError(`cannot build the image: ${reason}`, { file: shown(o.dockerfile) });
    say(`SKIPPED ${artifact}: ${reason}`);
    skipped.push({ artifact, reason });
  };

  const contexts = new Map<string, ContextFile[]>();
  const platforms: Platform[] = [];
  for (const platform of o.platforms.map((p) => parsePlatform(p, "the image target's platforms option"))) {
    const files = platformContext(o.contextDir, context, platformName(platform));
    if ('missing' in files) recordSkip(`${tarballName} (${platformName(platform)})`, files.missing);
    else {
      contexts.set(platformName(platform), files);
      platforms.push(platform);
    }
  }
  if (!platforms.length) return skip(skipped.map((s) => s.reason).join('; '));

  const args = buildArgs(o);
  const { reference, line } = baseReference(dockerfile, args);
  const source = parseBaseSource(reference, o.workspaceRoot, { file: dockerfile.file, line });
  let base;
  try {
    const registry = source.kind === 'registry' ? source.registry : undefined;
    base = await loadBaseImages(source, platforms, {
      workspaceRoot: o.workspaceRoot,
      cacheDir: baseImageCache(o.workspaceRoot),
      auth: registry ? registryAuth(registry, o.env ?? process.env) : undefined,
      log: say,
    });
  } catch (e) {
    if (e instanceof RegistryUnreachable) return skip(`cannot read the base image ${reference}: ${e.message}`);
    throw e;
  }

  const refs = dockerTags(o.version, { development: !o.production }).map((t) => `${IMAGE_REPOSITORY}:${t}`);
  const labels = imageLabels(o.version, o.revision, o.created);
  const tarball = join(o.outputDir, tarballName);
  say(`building ${refs.join(', ')} for ${platforms.map(platformName).join(', ')} from files, FROM ${source.text}`);
  const started = Date.now();
  const image = await buildOciImage({
    dockerfile,
    buildArgs: args,
    base,
    platforms,
    context: (p) => contexts.get(platformName(p))!,
    labels,
    created: o.created,
    mtime: o.mtime,
    references: refs,
    layoutDir: partialPathFor(join(o.outputDir, 'oci-layout')),
    tarball: partialPathFor(tarball),
  });
  renameSync(partialPathFor(tarball), tarball);
  for (const built of image.images)
    say(`  ${platformName(built.platform)}: ${built.manifest.digest}, ${built.base.layers.length} base + ${built.layers.length} layers`);
  say(`${shown(tarball)}: index ${image.index.digest}, ${mib(image.tarball.size)} MiB, built in ${seconds(started)} s`);

  const os = new Map<string, OsFacts>();
  for (const built of image.images) {
    const layers = built.base.layers.map((l) => ({ file: l.file, digest: l.descriptor.digest }));
    os.set(platformName(built.platform), await readOsFacts(layers, `${source.text} (${platformName(built.platform)})`));
  }
  const sbomName = imageSbomName(o.version);
  writeFileSync(
    join(o.outputDir, sbomName),
    imageSbom({ name: IMAGE_REPOSITORY, image, os, baseReference: source.text, created: o.created, tags: refs }),
  );

  const size = await loadAndCheck(o, { image, refs, tarball, smokeArgs, ready, shown, recordSkip });
  const dockerImage = image.images[0];
  await writeArtifactSet(o.outputDir, {
    files: [
      { path: tarballName, mode: FILE_MODE },
      { path: sbomName, mode: FILE_MODE },
    ],
    skipped,
    metadata: {
      image: {
        builder: 'files',
        platforms: image.images.map((i) => platformName(i.platform)),
        index: image.index.digest,
        manifests: Object.fromEntries(image.images.map((i) => [platformName(i.platform), i.manifest.digest])),
        id: dockerImage.config.digest,
        ...(size !== undefined ? { size } : {}),
        tags: refs,
        labels,
        tarball: tarballName,
        sbom: sbomName,
        base:
          source.kind === 'scratch'
            ? null
            : {
                name: source.text,
                id: source.digest,
                manifests: Object.fromEntries(image.images.map((i) => [platformName(i.platform), i.base.manifestDigest])),
              },
      },
    },
  });
  return { imageId: dockerImage.config.digest, tags: refs, tarball };
}

/**
 * Loads the tarball into the Docker engine (its manifest.json: the first platform's image) and
 * runs that image before it is kept. Returns the size the engine reports; without an engine, or
 * on a machine of another platform, the run is a recorded skip (an error in production).
 */
async function loadAndCheck(
  o: ReleaseImageOptions,
  c: {
    image: OciImage;
    refs: string[];
    tarball: string;
    smokeArgs: string[];
    ready: RegExp;
    shown: (path: string) => string;
    recordSkip: (artifact: string, reason: string) => void;
  },
): Promise<number | undefined> {
  const env = o.env ?? process.env;
  const loaded = c.image.images[0];
  const what = `${c.shown(c.tarball)} (the smoke run of ${platformName(loaded.platform)})`;
  if (platformName(loaded.platform) !== platformName(hostPlatform())) {
    c.recordSkip(what, `this machine is ${platformName(hostPlatform())}: it cannot run the ${platformName(loaded.platform)} image`);
    return undefined;
  }
  const docker: Docker = o.docker ?? dockerClient(env);
  try {
    await withTimeout(docker.ping(), 10_000);
  } catch (e) {
    c.recordSkip(what, `no Docker engine answers at ${engineAddress(env)}: ${(e as Error).message}`);
    return undefined;
  }
  o.log?.(`loading ${c.shown(c.tarball)} into the Docker engine at ${engineAddress(env)}`);
  const stream = await docker.loadImage(createReadStream(c.tarball));
  type LoadEvent = { stream?: string; error?: string; errorDetail?: { message?: string } };
  const events = await new Promise<LoadEvent[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: LoadEvent[]) => (err ? reject(err) : resolve(out))),
  );
  const failed = events.find((e) => e.error || e.errorDetail?.message);
  if (failed)
    throw new ReleaseError(`docker load refused it: ${failed.errorDetail?.message ?? failed.error}`, { file: c.shown(c.tarball) });
  const inspect = await docker
    .getImage(loaded.config.digest)
    .inspect()
    .catch(() => {
      throw new ReleaseError(`docker load did not make the image ${loaded.config.digest} that manifest.json names`, {
        file: c.shown(c.tarball),
      });
    });
  await checkImage(docker, { image: inspect.Id, refs: c.refs, smokeArgs: c.smokeArgs, ready: c.ready, o, shown: c.shown });
  return inspect.Size;
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}
