import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type Docker from 'dockerode';
import { baseImageOf, dockerClient, engineAddress } from '../build/docker-image';
import { Dockerfile, readDockerfile } from '../build/dockerfile';
import { baseReference } from '../build/dockerfile-plan';
import { buildArgs, imageBuildPath } from '../build/image-build';
import { BaseSource, baseImageCache, parseBaseSource, probeBaseImage } from '../build/oci-base';
import { registryAuth, RegistryUnreachable } from '../build/oci-registry';
import { parsePlatform, Platform, platformName } from '../build/platform';
import { ReleaseError } from '../support/errors';
import { withTimeout } from '../support/with-timeout';
import { Check, CheckStatus, DockerImageTarget, DoctorInput, messageOf, skipOrStop } from './check';

/** Per request; the registry lookup (distribution) goes through the engine, which may wait on a name server. */
const REQUEST_MS = 10_000;
const START_DOCKER = 'start dockerd (or the Docker service), or point DOCKER_HOST at one (unix:///path/docker.sock or tcp://host:2375)';

/** How an image target's build goes: the Dockerfile is missing or unreadable (a check already), or the path that builds it. */
type ImagePlan =
  | { check: Check }
  | { builder: 'engine' }
  | { builder: 'files'; dockerfile: Dockerfile; reference: string; line: number; platforms: Platform[] };

/**
 * The image builds as buildReleaseImage meets them: the Dockerfile exists and the path that builds
 * it can (an error in every mode); without the server binary (its export skipped) the image is
 * skipped in development; a Docker engine answers at DOCKER_HOST (else a skip in development, an
 * error in production: the engine builds the image, or runs the one built from files); and the
 * base can be had: the engine's build needs it in the engine or its registry, the daemonless one
 * the pinned digest in its OCI layout, the cache or its registry (else the build fails).
 */
export async function checkDocker(input: DoctorInput, exported: string[]): Promise<Check[]> {
  if (input.images.length === 0) return [];
  const plans = input.images.map((image) => planImage(image, input));
  const docker = dockerClient(input.env);
  // docker-modem destroys a request idle this long, so an unanswered probe leaves no socket behind.
  (docker.modem as { timeout?: number }).timeout = REQUEST_MS + 1_000;
  const engine = await pingEngine(
    docker,
    input,
    plans.every((p) => 'builder' in p && p.builder === 'files'),
  );
  const images = await Promise.all(
    input.images.map((image, i) => checkBaseImage(image, plans[i], docker, engine.status === 'ok', exported, input)),
  );
  return [engine, ...images];
}

function dockerCheck(name: string, status: CheckStatus, found: string, fix?: string): Check {
  return { area: 'Docker', name, status, found, ...(fix ? { fix } : {}), stage: 'build' };
}

async function pingEngine(docker: Docker, input: DoctorInput, onlyFiles: boolean): Promise<Check> {
  const address = engineAddress(input.env);
  try {
    await withTimeout(docker.ping(), REQUEST_MS);
    const version = await withTimeout(docker.version(), REQUEST_MS);
    return dockerCheck('engine', 'ok', `Docker ${version.Version} answers at ${address}`);
  } catch (e) {
    // The daemonless build makes the image without an engine; it needs one to run the image before it is kept.
    const outcome =
      input.mode === 'production'
        ? 'the image build fails'
        : onlyFiles
          ? 'the image is built from files, but its run before it is kept will be skipped (recorded in MANIFEST.json)'
          : 'the image build will be skipped (recorded in MANIFEST.json)';
    return dockerCheck('engine', skipOrStop(input.mode), `no Docker engine answers at ${address}: ${reason(e)}; ${outcome}`, START_DOCKER);
  }
}

/** The base as the build would be given it: the target's baseImage option, else BASE_IMAGE, else the Dockerfile's default. */
function givenBase(image: DockerImageTarget, input: DoctorInput): { given?: string; source: string } {
  if (image.baseImage) return { given: image.baseImage, source: 'the baseImage option' };
  if (input.env.BASE_IMAGE) return { given: input.env.BASE_IMAGE, source: 'BASE_IMAGE' };
  return { source: `the default in ${relative(input.workspaceRoot, image.dockerfile)}` };
}

/** Reads the Dockerfile and asks which path builds it, as buildReleaseImage does before it builds. */
function planImage(image: DockerImageTarget, input: DoctorInput): ImagePlan {
  const name = `${image.target} base image`;
  const shown = relative(input.workspaceRoot, image.dockerfile);
  if (!existsSync(image.dockerfile))
    return { check: dockerCheck(name, 'error', `${shown} is missing`, "point the target's dockerfile option at it") };
  if (image.builder === 'engine') return { builder: 'engine' };
  const o = { version: input.version, baseImage: givenBase(image, input).given, workspaceRoot: input.workspaceRoot };
  try {
    const dockerfile = readDockerfile(readFileSync(image.dockerfile, 'utf8'), shown);
    const path = imageBuildPath(image.builder, dockerfile, o);
    if (path.builder === 'engine') return path;
    const { reference, line } = baseReference(dockerfile, buildArgs(o));
    const platforms = image.platforms.map((p) => parsePlatform(p, `${image.target}: the platforms option`));
    return { builder: 'files', dockerfile, reference, line, platforms };
  } catch (e) {
    const fix = (e instanceof ReleaseError && e.hint) || `correct ${shown}, or set BASE_IMAGE`;
    return { check: dockerCheck(name, 'error', `the image cannot be built: ${messageOf(e)}`, fix) };
  }
}

async function checkBaseImage(
  image: DockerImageTarget,
  plan: ImagePlan,
  docker: Docker,
  engineAnswers: boolean,
  exported: string[],
  input: DoctorInput,
): Promise<Check> {
  if ('check' in plan) return plan.check;
  const name = `${image.target} base image`;
  const shown = relative(input.workspaceRoot, image.dockerfile);
  // In development an image whose export is skipped is skipped too, before its base is looked for.
  const builds = input.mode === 'production' || exported.includes(image.contextPath);
  const unless = builds ? '' : '; the image build is skipped anyway (its export writes no server binary)';
  const status: CheckStatus = builds ? 'error' : 'warning';
  if (plan.builder === 'files') return checkPinnedBase(name, plan, { status, unless }, image, input);

  const { given, source } = givenBase(image, input);
  const ref = baseImageOf(readFileSync(image.dockerfile, 'utf8'), given);
  if (!ref) return dockerCheck(name, 'error', `${shown} names no base image (FROM)`, 'set BASE_IMAGE or give the ARG a default');
  if (ref === 'scratch') return dockerCheck(name, 'ok', `FROM scratch (${source})`);
  if (!engineAnswers)
    return dockerCheck(name, skipOrStop(input.mode), `${ref} (${source}) not checked: no Docker engine answers`, START_DOCKER);
  try {
    const found = await withTimeout(docker.getImage(ref).inspect(), REQUEST_MS);
    return dockerCheck(name, 'ok', `${ref} (${source}) is in the engine (${found.Id.slice(0, 19)})`);
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404)
      return dockerCheck(name, status, `${ref} (${source}): the engine cannot inspect it: ${reason(e)}${unless}`, START_DOCKER);
  }
  try {
    await withTimeout(docker.getImage(ref).distribution(), REQUEST_MS);
    return dockerCheck(name, 'ok', `${ref} (${source}) is not in the engine; its registry has it, the build pulls it`);
  } catch (e) {
    return dockerCheck(
      name,
      status,
      `${ref} (${source}) is not in the engine and cannot be pulled: ${reason(e)}${unless}`,
      `docker pull ${ref} (or docker load it where the registry cannot be reached), or set BASE_IMAGE to an image the engine has`,
    );
  }
}

/**
 * The daemonless build's base, pinned by digest, probed as loadBaseImages reads it (oci-base.ts):
 * an OCI layout must hold the digest and its platforms' blobs; a registry's base is in the cache,
 * or its registry answers for the digest within REQUEST_MS. An unreachable registry is what the
 * build records as a skip in development and refuses in production; any other answer fails it.
 */
async function checkPinnedBase(
  name: string,
  plan: Extract<ImagePlan, { builder: 'files' }>,
  outcome: { status: CheckStatus; unless: string },
  image: DockerImageTarget,
  input: DoctorInput,
): Promise<Check> {
  const { source: from } = givenBase(image, input);
  const wanted = plan.platforms.map(platformName).join(', ');
  let source: BaseSource;
  try {
    source = parseBaseSource(plan.reference, input.workspaceRoot, { file: plan.dockerfile.file, line: plan.line });
  } catch (e) {
    return dockerCheck(name, 'error', `the image cannot be built: ${messageOf(e)}`, (e as ReleaseError).hint ?? 'pin the base by digest');
  }
  if (source.kind === 'scratch') return dockerCheck(name, 'ok', `FROM scratch (${from}): the daemonless build needs no base`);
  const shown = `${source.text} (${from})`;
  try {
    const auth = source.kind === 'registry' ? registryAuth(source.registry, input.env) : undefined;
    const cacheDir = baseImageCache(input.workspaceRoot);
    const found = await withTimeout(
      probeBaseImage(source, plan.platforms, { workspaceRoot: input.workspaceRoot, cacheDir, auth, timeoutMs: REQUEST_MS }),
      REQUEST_MS + 1_000,
    );
    const what = found.kind === 'index' ? `an index of ${found.platforms.join(', ')}` : 'a single image';
    const where =
      found.from === 'layout'
        ? 'the layout holds it'
        : found.from === 'cache'
          ? `the cache holds every blob of it (${relative(input.workspaceRoot, cacheDir)})`
          : `${source.kind === 'registry' ? source.registry : 'its registry'} answers for it`;
    return dockerCheck(name, 'ok', `${shown}: ${where}, ${what}; the daemonless build takes ${wanted} from it`);
  } catch (e) {
    // RegistryUnreachable, or no answer in time (a plain error: the timeout, a token service's network failure).
    if (source.kind === 'registry' && (e instanceof RegistryUnreachable || !(e instanceof ReleaseError))) {
      const skipped = input.mode === 'production' ? 'the image build fails' : 'the image build will be skipped (recorded in MANIFEST.json)';
      const why =
        e instanceof RegistryUnreachable ? messageOf(e) : `the registry ${source.registry} does not answer: ${(e as Error).message}`;
      return dockerCheck(
        name,
        skipOrStop(input.mode),
        `${shown} not checked: ${why}; ${skipped}`,
        `let this machine reach ${source.registry}, or copy the base into an OCI layout ` +
          `(skopeo copy --all docker://${source.registry}/${source.repository}@${source.digest} oci:<folder>) and set BASE_IMAGE to oci-layout://<folder>@${source.digest}`,
      );
    }
    const fix =
      (e instanceof ReleaseError && e.hint) ||
      (source.kind === 'layout'
        ? `copy the base into the layout (skopeo copy --all docker://<image>@${source.digest} oci:${source.folder}), or pin a digest the layout's index.json names`
        : `pin a digest ${source.registry} has (skopeo inspect --raw docker://${source.registry}/${source.repository}:<tag> | sha256sum), or set BASE_IMAGE to one`);
    return dockerCheck(name, outcome.status, `${shown}: ${messageOf(e)}${outcome.unless}`, fix);
  }
}

/** The engine's own message (dockerode wraps it in "(HTTP code 500) server error - ..."). */
function reason(error: unknown): string {
  const e = error as Error & { json?: { message?: string } };
  return e.json?.message ?? e.message;
}
