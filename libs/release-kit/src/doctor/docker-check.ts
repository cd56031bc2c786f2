import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type Docker from 'dockerode';
import { baseImageOf, dockerClient, engineAddress } from '../build/docker-image';
import { withTimeout } from '../support/with-timeout';
import { Check, CheckStatus, DockerImageTarget, DoctorInput, skipOrStop } from './check';

/** Per request; the registry lookup (distribution) goes through the engine, which may wait on a name server. */
const REQUEST_MS = 10_000;
const START_DOCKER = 'start dockerd (or the Docker service), or point DOCKER_HOST at one (unix:///path/docker.sock or tcp://host:2375)';

/**
 * The image builds as buildAndSaveImage meets them: the Dockerfile exists (an error in every mode);
 * without the server binary (its export skipped) the image is skipped in development; a Docker
 * engine answers at DOCKER_HOST (else a skip in development, an error in production); and the base
 * image is in the engine or its registry has it (else the build fails).
 */
export async function checkDocker(input: DoctorInput, exported: string[]): Promise<Check[]> {
  if (input.images.length === 0) return [];
  const docker = dockerClient(input.env);
  // docker-modem destroys a request idle this long, so an unanswered probe leaves no socket behind.
  (docker.modem as { timeout?: number }).timeout = REQUEST_MS + 1_000;
  const engine = await pingEngine(docker, input);
  const images = await Promise.all(input.images.map((image) => checkBaseImage(image, docker, engine.status === 'ok', exported, input)));
  return [engine, ...images];
}

function dockerCheck(name: string, status: CheckStatus, found: string, fix?: string): Check {
  return { area: 'Docker', name, status, found, ...(fix ? { fix } : {}), stage: 'build' };
}

async function pingEngine(docker: Docker, input: DoctorInput): Promise<Check> {
  const address = engineAddress(input.env);
  try {
    await withTimeout(docker.ping(), REQUEST_MS);
    const version = await withTimeout(docker.version(), REQUEST_MS);
    return dockerCheck('engine', 'ok', `Docker ${version.Version} answers at ${address}`);
  } catch (e) {
    const outcome = input.mode === 'production' ? 'the image build fails' : 'the image build will be skipped (recorded in MANIFEST.json)';
    return dockerCheck('engine', skipOrStop(input.mode), `no Docker engine answers at ${address}: ${reason(e)}; ${outcome}`, START_DOCKER);
  }
}

async function checkBaseImage(
  image: DockerImageTarget,
  docker: Docker,
  engineAnswers: boolean,
  exported: string[],
  input: DoctorInput,
): Promise<Check> {
  const name = `${image.target} base image`;
  const shown = relative(input.workspaceRoot, image.dockerfile);
  if (!existsSync(image.dockerfile)) return dockerCheck(name, 'error', `${shown} is missing`, "point the target's dockerfile option at it");
  const [given, source] = image.baseImage
    ? [image.baseImage, 'the baseImage option']
    : input.env.BASE_IMAGE
      ? [input.env.BASE_IMAGE, 'BASE_IMAGE']
      : [undefined, `the default in ${shown}`];
  const ref = baseImageOf(readFileSync(image.dockerfile, 'utf8'), given);
  if (!ref) return dockerCheck(name, 'error', `${shown} names no base image (FROM)`, 'set BASE_IMAGE or give the ARG a default');
  if (ref === 'scratch') return dockerCheck(name, 'ok', `FROM scratch (${source})`);
  // In development an image whose export is skipped is skipped too, before the engine is asked.
  const builds = input.mode === 'production' || exported.includes(image.contextPath);
  const unless = builds ? '' : '; the image build is skipped anyway (its export writes no server binary)';
  const status: CheckStatus = builds ? 'error' : 'warning';
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

/** The engine's own message (dockerode wraps it in "(HTTP code 500) server error - ..."). */
function reason(error: unknown): string {
  const e = error as Error & { json?: { message?: string } };
  return e.json?.message ?? e.message;
}
