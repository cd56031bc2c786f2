import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { dockerClient } from '../build/docker-image';
import { chooseArtifactRepo, parseArtifactRepo } from '../publish/artifact-repository';
import { registryAuth } from '../build/oci-registry';
import { checkRegistry } from '../publish/registry-push';
import { s3Client } from '../publish/s3-repository';
import { ReleaseError } from '../support/errors';
import { withTimeout } from '../support/with-timeout';
import { Check, CheckStatus, DoctorInput, messageOf, skipOrStop } from './check';

const PROBE_MS = 5_000;

function publishingCheck(name: string, status: CheckStatus, found: string, fix?: string): Check {
  return { area: 'Publishing', name, status, found, ...(fix ? { fix } : {}), stage: 'publish' };
}

/** Where release:publish would put the release and the image, probed without writing anything. */
export async function checkPublishing(input: DoctorInput): Promise<Check[]> {
  return Promise.all([checkArtifactRepository(input), checkRegistryAccess(input)]);
}

/** The repository publish picks (its artifactRepo option, ARTIFACT_REPO, the default), as its preflight would find it. */
async function checkArtifactRepository(input: DoctorInput): Promise<Check> {
  const { url, source } = chooseArtifactRepo(input.publish.artifactRepo, input.env, input.workspaceRoot, 'the artifactRepo option');
  const name = 'artifact repository';
  let address;
  try {
    address = parseArtifactRepo(url, source);
  } catch (e) {
    return publishingCheck(name, 'error', messageOf(e), 'use s3://<bucket>/<prefix> or file:///<absolute path>');
  }
  if (address.kind === 'file') return fileRepository(address.root, `${url} (${source})`);
  return s3Repository(address.bucket, `${url} (${source})`, input.env);
}

function fileRepository(root: string, shown: string): Check {
  const name = 'artifact repository';
  let folder = root;
  while (!existsSync(folder) && dirname(folder) !== folder) folder = dirname(folder);
  const fix = 'point ARTIFACT_REPO (or --artifactRepo) at a folder this user can write';
  if (!statSync(folder).isDirectory()) return publishingCheck(name, 'error', `${shown}: ${folder} is not a folder`, fix);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    return publishingCheck(name, 'error', `${shown}: ${folder} is not writable by this user`, fix);
  }
  return publishingCheck(name, 'ok', folder === root ? `${shown}: a writable folder` : `${shown}: publish creates it in ${folder}`);
}

/** HeadBucket with the client publish uses (endpoint, region, credentials from the environment). */
async function s3Repository(bucket: string, shown: string, env: NodeJS.ProcessEnv): Promise<Check> {
  const name = 'artifact repository';
  const client = s3Client(env);
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || 'AWS S3';
  try {
    await withTimeout(client.config.credentials(), PROBE_MS);
  } catch (e) {
    return publishingCheck(
      name,
      'error',
      `${shown}: no AWS credentials (${(e as Error).message})`,
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE',
    );
  }
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(PROBE_MS) });
    return publishingCheck(name, 'ok', `${shown}: the bucket answers at ${endpoint}`);
  } catch (e) {
    const [found, fix] = s3Problem(e, bucket, endpoint);
    return publishingCheck(name, 'error', `${shown}: ${found}`, fix);
  } finally {
    client.destroy();
  }
}

function s3Problem(error: unknown, bucket: string, endpoint: string): [string, string] {
  const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status === 404 || e.name === 'NoSuchBucket')
    return [`the bucket ${bucket} does not exist`, 'create it, or point ARTIFACT_REPO at an existing bucket'];
  if (status === 403 || status === 400)
    return [
      `${endpoint} refuses the credentials (HTTP ${status})`,
      'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket policy',
    ];
  const cause =
    e.name === 'AbortError' || e.name === 'TimeoutError' ? `no answer within ${PROBE_MS / 1000} s` : `${e.code ?? e.name}: ${e.message}`;
  return [`${endpoint} does not answer (${cause})`, 'check AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) and the network'];
}

/**
 * The registry publish pushes to (its registry option, else DOCKER_REGISTRY) and the credentials it
 * would send, checked as its preflight checks them. Without a registry the image is not pushed:
 * a loud skip in development, an error in production.
 */
async function checkRegistryAccess(input: DoctorInput): Promise<Check> {
  const name = 'container registry';
  const registry = (input.publish.registry ?? (input.env.DOCKER_REGISTRY || undefined))?.replace(/\/+$/, '');
  if (!registry) {
    const outcome = input.mode === 'production' ? 'publish cannot push the image' : 'publish skips the image';
    return publishingCheck(
      name,
      skipOrStop(input.mode),
      `DOCKER_REGISTRY is not set: ${outcome}`,
      'set DOCKER_REGISTRY, e.g. ghcr.io/your-org',
    );
  }
  const host = registry.split('/')[0];
  try {
    const auth = registryAuth(host, input.env);
    await withTimeout(checkRegistry(dockerClient(input.env), host, auth), 2 * PROBE_MS);
    return publishingCheck(name, 'ok', `${registry} accepts ${auth ? `the credentials from ${auth.source}` : 'anonymous pushes'}`);
  } catch (e) {
    const fix =
      (e instanceof ReleaseError && e.hint) || 'set DOCKER_USERNAME and DOCKER_PASSWORD (or docker login), and check DOCKER_REGISTRY';
    return publishingCheck(name, 'error', messageOf(e), fix);
  }
}
