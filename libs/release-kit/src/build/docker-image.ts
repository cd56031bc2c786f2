import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw } from 'node:zlib';
import Docker from 'dockerode';
import { ArtifactSet, readArtifactSet, writeArtifactSet } from '../section/artifact-set';
import { deflateOptions } from '../archive/compression';
import { FILE_MODE } from '../format/determinism';
import { PACKAGE_NAME } from '../format/layout';
import { ReleaseError } from '../support/errors';
import { withTimeout } from '../support/with-timeout';
import { gzipHeader, gzipTrailer } from '../archive/gzip';
import { tarHeader, tarPadding } from '../archive/tar-header';
import { dockerTags } from '../versioning/docker-tags';
import { readyPattern } from './godot-export';
import { platformArgs } from './dockerfile-plan';
import { exportedServer, platformContext } from './export-context';
import { smokeImage } from './image-smoke';
import type { ContextFile } from './oci-image';
import { hostPlatform, platformName } from './platform';

/** The image is named as the package is. */
export const IMAGE_REPOSITORY = PACKAGE_NAME;
export const BUILD_LOG = 'docker-build.log';
export const SMOKE_LOG = 'image-smoke.log';

export function imageTarballName(version: string): string {
  return `${IMAGE_REPOSITORY}-${version}.tar.gz`;
}

/**
 * The image of the Dockerfile's first FROM, with the ARGs declared before it substituted
 * (`baseImage` is the BASE_IMAGE build argument, as the build passes it).
 */
export function baseImageOf(dockerfile: string, baseImage: string | undefined): string | undefined {
  const args: Record<string, string> = {};
  for (const raw of dockerfile.split(/\r?\n/)) {
    const line = raw.trim();
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?/i.exec(line);
    if (arg) args[arg[1]] = (arg[1] === 'BASE_IMAGE' && baseImage) || (arg[2] ?? '').replace(/^"(.*)"$/, '$1');
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)/i.exec(line);
    if (from) return from[1].replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => args[n] ?? '') || undefined;
  }
  return undefined;
}

/** OCI annotation labels: version, the commit, and the build date (never the wall clock). */
export function imageLabels(version: string, revision: string | undefined, created: number): Record<string, string> {
  return {
    'org.opencontainers.image.title': IMAGE_REPOSITORY,
    'org.opencontainers.image.version': version,
    'org.opencontainers.image.revision': revision ?? 'unknown',
    'org.opencontainers.image.created': new Date(created * 1000).toISOString().replace('.000Z', 'Z'),
  };
}

/**
 * The image's revision: the last commit that changed what goes into it (the section's folder
 * and VERSION), and that commit's time. Not HEAD: a commit elsewhere must not rebuild the image.
 */
export function sourceRevision(workspaceRoot: string, paths: string[]): { commit: string; time: number } | undefined {
  try {
    const out = execFileSync('git', ['log', '-1', '--format=%H %ct', '--', ...paths], {
      cwd: workspaceRoot,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const [commit, time] = out.split(' ');
    return commit ? { commit, time: Number(time) } : undefined;
  } catch {
    return undefined;
  }
}

/** A client for the engine at DOCKER_HOST (unix:// or tcp://) or the default socket. */
export function dockerClient(env: NodeJS.ProcessEnv): Docker {
  const host = env.DOCKER_HOST;
  if (!host) return new Docker({ socketPath: '/var/run/docker.sock' });
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}

/** Where dockerode looks for the engine, for messages. */
export function engineAddress(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_HOST ? `${env.DOCKER_HOST} (DOCKER_HOST)` : 'unix:///var/run/docker.sock (the default; DOCKER_HOST is not set)';
}

// ------------------------------------------------------------------------------------------
// The build's JSON message stream
// ------------------------------------------------------------------------------------------

export interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/**
 * Follows the classic builder's message stream: the current Dockerfile step and what it
 * printed, so that a failure names the step and shows its output.
 */
export class BuildTranscript {
  step?: string;
  stepOutput: string[] = [];
  all: string[] = [];
  imageId?: string;
  error?: string;

  add(event: BuildEvent): void {
    if (event.aux?.ID) this.imageId = event.aux.ID;
    if (event.error || event.errorDetail?.message) {
      this.error = (event.errorDetail?.message ?? event.error ?? '').trim();
      this.all.push(`ERROR ${this.error}`);
      return;
    }
    const text = event.stream ?? event.status;
    if (!text) return;
    for (const line of text.replace(/\r/g, '').split('\n')) {
      if (line === '') continue;
      this.all.push(line);
      const step = /^Step (\d+\/\d+) : (.*)$/.exec(line);
      if (step) {
        this.step = `step ${step[1]} \`${step[2]}\``;
        this.stepOutput = [];
      } else {
        this.stepOutput.push(line);
      }
    }
    const built = /Successfully built ([0-9a-f]{12,64})/.exec(text);
    if (built && !this.imageId) this.imageId = built[1];
  }

  failure(): string {
    const where = this.step ? `Dockerfile ${this.step} failed` : 'the build failed before its first Dockerfile step';
    const output = this.stepOutput.filter((l) => !/^ ---> /.test(l)).slice(-20);
    return `${where}: ${this.error ?? 'unknown error'}${output.length ? `\n    ${output.join('\n    ')}` : ''}`;
  }
}

// ------------------------------------------------------------------------------------------
// Build context: Dockerfile + files, as a deterministic tar stream
// ------------------------------------------------------------------------------------------

export function contextStream(files: ContextFile[], mtime: number): Readable {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const f of sorted) {
      const size = statSync(f.file).size;
      yield tarHeader({ path: f.name, type: 'file', size, mode: f.mode, mtime });
      for await (const chunk of createReadStream(f.file, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
      yield tarPadding(size);
    }
    yield Buffer.alloc(1024);
  }
  return Readable.from(chunks());
}

// ------------------------------------------------------------------------------------------
// Build and save
// ------------------------------------------------------------------------------------------

export interface ImageBuildOptions {
  workspaceRoot: string;
  dockerfile: string;
  /** Output folder of the export target (artifacts.json naming the exported server, VERSION.txt). */
  contextDir: string;
  outputDir: string;
  version: string;
  /** Build argument BASE_IMAGE; the Dockerfile's default when unset. */
  baseImage?: string;
  revision?: string;
  /** Seconds since 1970: the created label. */
  created: number;
  mtime: number;
  production: boolean;
  /** The smoke arguments and ready line; by default those the export's smoke used (its artifacts.json). */
  smokeArgs?: string[];
  smokeReady?: string;
  /** Seconds for the smoke run, and again for the container to turn healthy. */
  smokeTimeoutSeconds: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** For tests: an engine client. */
  docker?: Docker;
  /** Why the engine builds it (a RUN step, an unpinned base), for MANIFEST.json. */
  engineReason?: string;
}

export interface ImageBuildResult {
  skipped?: string;
  imageId?: string;
  tags?: string[];
  tarball?: string;
}

/** What both builds (the engine's and the daemonless one) start from. */
export interface ImageBuildStart {
  shown: (path: string) => string;
  tarballName: string;
  /** A recorded skip in development, an error in production. */
  skip: (reason: string) => Promise<ImageBuildResult>;
  context: ArtifactSet;
  smokeArgs: string[];
  ready: RegExp;
}

/**
 * Empties the output folder and reads what the export left: its artifacts.json and the smoke its
 * server passed. Returns the reason to skip when there is no server to put in an image.
 */
export async function startImageBuild(o: ImageBuildOptions): Promise<ImageBuildStart | ImageBuildResult> {
  const shown = (p: string) => relative(o.workspaceRoot, p) || '.';
  const tarballName = imageTarballName(o.version);
  rmSync(o.outputDir, { recursive: true, force: true });
  mkdirSync(o.outputDir, { recursive: true });

  const skip = async (reason: string): Promise<ImageBuildResult> => {
    if (o.production) throw new ReleaseError(`cannot build the Docker image: ${reason}`, { file: shown(o.dockerfile) });
    writeFileSync(join(o.outputDir, BUILD_LOG), `${reason}\n`);
    await writeArtifactSet(o.outputDir, { files: [], skipped: [{ artifact: tarballName, reason }], metadata: { image: null } });
    return { skipped: reason };
  };

  if (!existsSync(o.dockerfile)) throw new ReleaseError('is missing', { file: shown(o.dockerfile) });
  const context = readArtifactSet(o.contextDir, shown(o.contextDir));
  const exported = exportedServer(context.metadata);
  if (!exported || !context.files.some((f) => f.path === exported.artifact)) {
    const why = context.skipped.map((s) => s.reason).join('; ') || 'the export recorded no server';
    return skip(`the image needs the exported server, which was not built (${why})`);
  }
  let ready: RegExp;
  try {
    ready = o.smokeReady ? readyPattern(o.smokeReady, o.version) : new RegExp(exported.smoke.ready);
  } catch (e) {
    throw new ReleaseError(`the smokeReady option is not a regular expression: ${(e as Error).message}`);
  }
  return { shown, tarballName, skip, context, smokeArgs: o.smokeArgs ?? exported.smoke.args, ready };
}

/** The engine path: the Dockerfile built by the Docker engine for its own platform, run, then saved with `docker save`. */
export async function buildAndSaveImage(o: ImageBuildOptions): Promise<ImageBuildResult> {
  const env = o.env ?? process.env;
  const say = o.log ?? (() => undefined);
  const start = await startImageBuild(o);
  if (!('context' in start)) return start;
  const { shown, tarballName, skip, context, smokeArgs, ready } = start;
  const host = hostPlatform();
  const files = platformContext(o.contextDir, context, platformName(host));
  if ('missing' in files) return skip(files.missing);

  const docker = o.docker ?? dockerClient(env);
  try {
    await withTimeout(docker.ping(), 10_000);
  } catch (e) {
    return skip(
      `no Docker engine answers at ${engineAddress(env)}: ${(e as Error).message}; start dockerd or point DOCKER_HOST at one (unix:///path/docker.sock or tcp://host:2375)`,
    );
  }

  const tags = dockerTags(o.version, { development: !o.production });
  const refs = tags.map((t) => `${IMAGE_REPOSITORY}:${t}`);
  const labels = imageLabels(o.version, o.revision, o.created);
  const buildargs: Record<string, string> = {
    VERSION: o.version,
    ...(o.baseImage ? { BASE_IMAGE: o.baseImage } : {}),
    ...platformArgs(host, host),
  };
  say(`building ${refs.join(', ')} at ${engineAddress(env)}${o.baseImage ? ` on ${o.baseImage}` : ''}`);
  const transcript = new BuildTranscript();
  const logFile = join(o.outputDir, BUILD_LOG);
  try {
    const contextFiles = [{ name: 'Dockerfile', file: o.dockerfile, mode: FILE_MODE }, ...files];
    const stream = await docker.buildImage(contextStream(contextFiles, o.mtime) as unknown as NodeJS.ReadableStream, {
      t: refs as unknown as string,
      buildargs,
      labels,
      dockerfile: 'Dockerfile',
      rm: true,
      forcerm: true,
    });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err) => (err ? reject(err) : resolve()),
        (event: BuildEvent) => {
          transcript.add(event);
          if (event.stream && /^Step \d+\/\d+ : /.test(event.stream)) say(event.stream.trim());
        },
      );
    });
  } catch (e) {
    transcript.error ??= (e as Error).message;
  } finally {
    writeFileSync(logFile, `${transcript.all.join('\n')}\n`);
  }
  if (transcript.error)
    throw new ReleaseError(transcript.failure(), { file: shown(o.dockerfile), hint: `full build output: ${shown(logFile)}` });

  const inspect = await docker.getImage(refs[0]).inspect();
  const base = await baseImageFacts(docker, baseImageOf(readFileSync(o.dockerfile, 'utf8'), o.baseImage));
  await checkImage(docker, { image: inspect.Id, refs, smokeArgs, ready, o, shown });
  const tarball = join(o.outputDir, tarballName);
  say(`saving ${inspect.Id} (${mib(inspect.Size)} MiB) to ${shown(tarball)}`);
  // GET /images/get?names=..&names=..: one tarball holding every tag (dockerode has it, its types do not).
  const getImages = (docker as unknown as { getImages(opts: { names: string[] }): Promise<NodeJS.ReadableStream> }).getImages.bind(docker);
  const saved = await getImages({ names: refs });
  const bytes = await gzipStream(saved as unknown as Readable, tarball, (n) => say(`  saved ${mib(n)} MiB`));
  say(`${shown(tarball)}: ${mib(statSync(tarball).size)} MiB gzip of ${mib(bytes)} MiB`);
  await writeArtifactSet(o.outputDir, {
    files: [{ path: tarballName, mode: FILE_MODE }],
    skipped: [],
    metadata: {
      image: {
        builder: 'engine',
        ...(o.engineReason ? { builderReason: o.engineReason } : {}),
        platforms: [platformName(host)],
        id: inspect.Id,
        size: inspect.Size,
        tags: refs,
        labels,
        tarball: tarballName,
        base,
      },
    },
  });
  return { imageId: inspect.Id, tags: refs, tarball };
}

/**
 * Runs the image the engine has (its smoke, then until its HEALTHCHECK passes) before it is kept;
 * a broken image loses its tags, so that nothing pushes it by name later, and fails the build.
 */
export async function checkImage(
  docker: Docker,
  c: { image: string; refs: string[]; smokeArgs: string[]; ready: RegExp; o: ImageBuildOptions; shown: (path: string) => string },
): Promise<void> {
  const smokeLog = join(c.o.outputDir, SMOKE_LOG);
  c.o.log?.(`running ${c.image}: ${c.smokeArgs.join(' ')}, then until its HEALTHCHECK passes`);
  const smokeOutput: string[] = [];
  const problems = await smokeImage({
    docker,
    image: c.image,
    smokeArgs: c.smokeArgs,
    ready: c.ready,
    timeoutSeconds: c.o.smokeTimeoutSeconds,
    log: (text) => smokeOutput.push(text),
  }).finally(() => writeFileSync(smokeLog, smokeOutput.join('')));
  if (!problems.length) return;
  for (const ref of c.refs)
    await docker
      .getImage(ref)
      .remove({ noprune: true })
      .catch(() => undefined);
  throw new ReleaseError(`the image does not start:\n  - ${problems.join('\n  - ')}`, {
    file: c.shown(c.o.dockerfile),
    hint: `what the containers printed: ${c.shown(smokeLog)}`,
  });
}

/**
 * The image the build started FROM, as the engine has it: its ID, and the registry digests it was
 * pulled by (none for an image built or imported locally). Null for `scratch` or an image the
 * engine no longer has.
 */
async function baseImageFacts(
  docker: Docker,
  name: string | undefined,
): Promise<{ name: string; id: string; repoDigests: string[] } | null> {
  if (!name || name === 'scratch') return null;
  try {
    const inspect = await docker.getImage(name).inspect();
    return { name, id: inspect.Id, repoDigests: inspect.RepoDigests ?? [] };
  } catch {
    return null;
  }
}

/**
 * Streams into a gzip file with the fixed header (no name, mtime 0, OS 3) and returns the
 * uncompressed length. Memory stays flat whatever the size.
 */
export async function gzipStream(source: Readable, file: string, progress?: (bytes: number) => void): Promise<number> {
  writeFileSync(file, gzipHeader());
  let crc = 0;
  let size = 0;
  let next = 256 << 20;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      if (progress && size >= next) {
        progress(size);
        next += 256 << 20;
      }
      done(null, chunk);
    },
  });
  await pipeline(source, counter, createDeflateRaw(deflateOptions()), createWriteStream(file, { flags: 'a' }));
  writeFileSync(file, gzipTrailer(crc, size), { flag: 'a' });
  return size;
}

export function mib(n: number): string {
  return (n / (1 << 20)).toFixed(1);
}
