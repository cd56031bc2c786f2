import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { dockerClient, IMAGE_REPOSITORY } from '../build/docker-image';
import { ReleaseError } from '../support/errors';
import { archiveNames, attestationName, PACKAGE_NAME, packageFolderName, PUBLIC_KEY_FILE, ROOT_FILES } from '../format/layout';
import { Manifest } from '../format/manifest';
import { sha256 } from '../support/digest';
import { withOutputLock } from '../support/output-lock';
import { writeAtomically } from '../support/write-atomically';
import { dockerTags } from '../versioning/docker-tags';
import { ArtifactRepository, parseArtifactRepo } from './artifact-repository';
import { FileRepository } from './file-repository';
import { packageHelmChart } from './helm-chart';
import { HELM_INDEX_FILE, mergeHelmIndex } from './helm-index';
import { checkDestinations, requirePackage, verifyPackage } from './preflight';
import { publishTarget } from './publish-target';
import {
  formatPublishSummary,
  ObjectAction,
  PUBLISH_REPORT_FILE,
  PUBLISH_REPORT_FORMAT,
  PublishedImage,
  PublishedObject,
  PublishReport,
  writePublishReport,
} from './publish-report';
import { registryAuth } from '../build/oci-registry';
import { pushImage } from './registry-push';
import { s3Client, S3Repository } from './s3-repository';

/** Where the packaged Helm chart lives in the package. */
const PACKAGED_CHART_DIR = 'kubernetes/helm/spacetime-vr';
export const DEFAULT_PART_SIZE = 16 << 20;

export interface PublishOptions {
  /** Absolute path of the release outputs (dist/release). */
  outputDir: string;
  version: string;
  sections: string[];
  /** `s3://bucket/prefix` or `file:///path`. */
  artifactRepo: string;
  /** Which setting gave artifactRepo, for messages (`ARTIFACT_REPO`, `--artifactRepo`). */
  artifactRepoSource: string;
  /** `host[:port][/namespace]`; none skips the image (an error when production). */
  registry?: string;
  force: boolean;
  acl?: 'public-read';
  partSize: number;
  production: boolean;
  /**
   * Publish under `snapshots/<version>-<short commit>/` instead of `releases/v<version>/`: the one
   * place a development package may go. Without it a development package is refused.
   */
  snapshot?: boolean;
  /** The output folder as the user knows it (workspace-relative), for messages. */
  outputDirShownAs?: string;
  /** The chart to package; defaults to the packaged one. */
  chartDir?: string;
  /** Chart archive entry mtime. */
  mtime: number;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  warn: (line: string) => void;
  docker?: Docker;
}

interface PlannedObject {
  key: string;
  file: string;
  size: number;
  sha256: string;
  action?: ObjectAction;
  /** For an object already there: how its bytes were proven to be the local file's. */
  proof?: 'checksum' | 'content';
}

function openArtifactRepository(url: string, shownAs: string, env: NodeJS.ProcessEnv, log: (line: string) => void): ArtifactRepository {
  const address = parseArtifactRepo(url, shownAs);
  return address.kind === 's3' ? new S3Repository(s3Client(env), address.bucket, address.prefix, log) : new FileRepository(address.root);
}

/**
 * Publishes a verified release under the output folder's lock (so an assembly never swaps the
 * package while it is read): preflight, the release-or-snapshot decision, image push, Helm chart,
 * then the objects in an order where a reader never sees half a release (the key, the archives and
 * the provenance attestation, then SHA256SUMS, its signature and MANIFEST.json, then the chart index), each skipped when already
 * there with the same bytes, then every object verified and the report written.
 */
export async function publishRelease(o: PublishOptions): Promise<PublishReport> {
  const packageDir = join(o.outputDir, packageFolderName(o.version));
  // Before the lock, which lives in the output folder: without a package there is nothing to wait for.
  requirePackage(verifyOptions(o, packageDir));
  return withOutputLock(o.outputDir, o.outputDirShownAs ?? o.outputDir, o.log, () => publishLocked(o, packageDir));
}

function verifyOptions(o: PublishOptions, packageDir: string) {
  const names = archiveNames(o.version);
  return {
    packageDir,
    sections: o.sections,
    publicKeyFile: join(o.outputDir, PUBLIC_KEY_FILE),
    tarGz: join(o.outputDir, names.tarGz),
    zip: join(o.outputDir, names.zip),
    requireProvenance: true,
  };
}

async function publishLocked(o: PublishOptions, packageDir: string): Promise<PublishReport> {
  const started = Date.now();
  const names = archiveNames(o.version);
  await verifyPackage(verifyOptions(o, packageDir), o.log);
  const manifest = JSON.parse(readFileSync(join(packageDir, ROOT_FILES.manifest), 'utf8')) as Manifest;
  const manifestFile = join(o.outputDirShownAs ?? o.outputDir, packageFolderName(o.version), ROOT_FILES.manifest);
  const target = publishTarget(manifest, o.version, o.snapshot ?? false, manifestFile);
  if (target.mode === 'snapshot')
    o.warn(
      `SNAPSHOT: publishing under ${target.dir}/, not as a release` +
        (target.development.length ? ` (a development package: ${target.development.join('; ')})` : ''),
    );

  const repository = openArtifactRepository(o.artifactRepo, o.artifactRepoSource, o.env, o.log);
  const docker = o.docker ?? dockerClient(o.env);
  const registry = o.registry?.replace(/\/+$/, '');
  const auth = registry ? registryAuth(registry.split('/')[0], o.env) : undefined;
  await checkDestinations({
    repository,
    registry: registry ? { docker, name: registry.split('/')[0], auth } : undefined,
    log: o.log,
  });
  const image = releaseImage(manifest, packageDir);
  if ('skipped' in image || !registry) {
    const why = 'skipped' in image ? image.skipped : 'DOCKER_REGISTRY (or --registry) is not set';
    if (o.production)
      throw new ReleaseError(`cannot publish the image: ${why}`, {
        file: 'skipped' in image ? manifestFile : 'DOCKER_REGISTRY',
      });
    o.warn(`SKIPPED the container registry: ${why}`);
  }

  const dir = target.dir;
  const besideFiles = [PUBLIC_KEY_FILE, names.tarGz, names.zip, attestationName(packageFolderName(o.version))];
  const releaseObjects = await plan(repository, o.force, [
    ...besideFiles.map((f): [string, string] => [`${dir}/${f}`, join(o.outputDir, f)]),
    ...[ROOT_FILES.checksums, ROOT_FILES.signature, ROOT_FILES.manifest].map((f): [string, string] => [`${dir}/${f}`, join(packageDir, f)]),
  ]);
  const artifacts = releaseObjects.slice(0, besideFiles.length);
  const catalogue = releaseObjects.slice(besideFiles.length);

  let published: PublishedImage;
  if (registry && !('skipped' in image)) {
    // A snapshot is tagged as a development build whatever its configuration: never a version tag or `latest`.
    const tags = dockerTags(o.version, { development: target.mode === 'snapshot' || manifest.configuration !== 'production' });
    const pushed = await pushImage({
      docker,
      registry,
      imageId: image.id,
      tarball: image.tarball,
      repository: IMAGE_REPOSITORY,
      tags,
      auth,
      log: o.log,
    });
    published = { registry, ...pushed };
  } else {
    published = { skipped: 'skipped' in image ? image.skipped : 'no registry given (DOCKER_REGISTRY)' };
  }

  const chart = packageHelmChart({
    chartDir: o.chartDir ?? join(packageDir, PACKAGED_CHART_DIR),
    version: o.version,
    image: 'digest' in published ? { registry: published.registry, digest: published.digest } : undefined,
    mtime: o.mtime,
  });
  const chartFile = writeAtomically(join(o.outputDir, chart.fileName), chart.bytes);
  const chartKey = `${target.chartDir}/${chart.fileName}`;
  const chartObjects = await plan(repository, o.force, [[chartKey, chartFile]]);
  const index = target.indexKey ? await planIndex(repository, o, target.indexKey, chart, manifest.build_date) : undefined;

  const ordered = [...chartObjects, ...artifacts, ...catalogue, ...(index ? [index] : [])];
  for (const object of ordered) {
    if (object.action === 'skipped') {
      o.log(`already there: ${object.key} (same bytes, by ${object.proof})`);
      continue;
    }
    const verb = object.action === 'overwritten' ? 'OVERWRITING (--force)' : 'uploading';
    o.log(`${verb} ${object.key} (${(object.size / (1 << 20)).toFixed(1)} MiB)`);
    await repository.put({
      key: object.key,
      file: object.file,
      size: object.size,
      sha256: object.sha256,
      acl: o.acl,
      partSize: o.partSize,
      log: o.log,
    });
  }

  const objects: PublishedObject[] = [];
  for (const object of ordered)
    objects.push({
      key: object.key,
      size: object.size,
      sha256: object.sha256,
      action: object.action!,
      verified: await verifyObject(repository, object),
    });

  const report: PublishReport = {
    format: PUBLISH_REPORT_FORMAT,
    name: PACKAGE_NAME,
    version: o.version,
    build_date: manifest.build_date,
    configuration: manifest.configuration,
    mode: target.mode,
    prefix: target.dir,
    development: target.development,
    repository: repository.location,
    acl: o.acl ?? 'default',
    objects,
    forced: objects.filter((x) => x.action === 'overwritten').map((x) => x.key),
    image: published,
    chart: {
      key: chartKey,
      sha256: chart.sha256,
      index: target.indexKey ?? null,
      image: 'digest' in published ? `${published.registry}/${IMAGE_REPOSITORY}@${published.digest}` : 'unpinned (no image pushed)',
    },
  };
  if (index) rmSync(index.file, { force: true });
  writePublishReport(join(o.outputDir, PUBLISH_REPORT_FILE), report);
  o.log(formatPublishSummary(report, (Date.now() - started) / 1000));
  return report;
}

/** The merged Helm index, written beside the outputs: skipped when the stored one is identical (read and hashed). */
async function planIndex(
  repository: ArtifactRepository,
  o: PublishOptions,
  indexKey: string,
  chart: { metadata: Record<string, unknown>; sha256: string; fileName: string },
  buildDate: string,
): Promise<PlannedObject> {
  const existingIndex = await repository.read(indexKey);
  const index = mergeHelmIndex(
    existingIndex?.toString('utf8'),
    { metadata: chart.metadata, digest: chart.sha256, url: chart.fileName, created: buildDate },
    buildDate,
    o.force,
    `${repository.location}/${indexKey}`,
  );
  const indexFile = writeAtomically(join(o.outputDir, `${PACKAGE_NAME}-${HELM_INDEX_FILE}`), Buffer.from(index.text));
  const indexObject = await describe(indexKey, indexFile);
  const indexStored = existingIndex ? sha256(existingIndex) : undefined;
  indexObject.action = indexStored === indexObject.sha256 ? 'skipped' : index.replaced ? 'overwritten' : 'uploaded';
  indexObject.proof = 'content';
  return indexObject;
}

/** The image MANIFEST.json records (ID and its tarball in the package), or why there is none. */
function releaseImage(manifest: Manifest, packageDir: string): { id: string; tarball: string } | { skipped: string } {
  for (const section of manifest.sections) {
    const image = section.metadata?.image as { id?: string; tarball?: string } | null | undefined;
    if (!image?.id || !image.tarball) continue;
    const file = manifest.files.find((f) => f.path === `${section.name}/${image.tarball}` || f.path.endsWith(`/${image.tarball}`));
    if (file) return { id: image.id, tarball: join(packageDir, file.path) };
  }
  const skip = manifest.skipped.find((s) => /\.tar\.gz$/.test(s.artifact) && s.artifact.includes(IMAGE_REPOSITORY));
  return {
    skipped: skip ? `no image was built (MANIFEST.json skipped ${skip.artifact}: ${skip.reason})` : 'MANIFEST.json records no image',
  };
}

/**
 * Hashes the local files and decides each one: upload, skip (the stored bytes are proven the same,
 * by a checksum the store computed or by a download and hash, never by metadata), or (forced)
 * overwrite. A conflict stops before anything is written.
 */
async function plan(repository: ArtifactRepository, force: boolean, files: Array<[string, string]>): Promise<PlannedObject[]> {
  const planned = await Promise.all(files.map(([key, file]) => describe(key, file)));
  const conflicts: string[] = [];
  for (const object of planned) {
    const stored = await repository.compare(object.key, object);
    if (!stored) {
      object.action = 'uploaded';
      continue;
    }
    if (stored.same && stored.by !== 'size') {
      object.action = 'skipped';
      object.proof = stored.by;
    } else if (force) object.action = 'overwritten';
    else conflicts.push(object.key);
  }
  if (conflicts.length) {
    const others = conflicts.length > 1 ? ` (also ${conflicts.slice(1).join(', ')})` : '';
    throw new ReleaseError(
      `${repository.location}/${conflicts[0]} already exists with different content: a released version never changes${others}`,
      { hint: 'publish a new version, or rerun with --force to overwrite (recorded in the publish report)' },
    );
  }
  return planned;
}

async function describe(key: string, file: string): Promise<PlannedObject> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { key, file, size: statSync(file).size, sha256: hash.digest('hex') };
}

/**
 * Every object: size and SHA-256 against the local file. Objects written by this run are
 * downloaded and hashed; an object already there keeps the proof that decided to skip it (a
 * checksum the store computed, or a download and hash), after its size is checked again.
 */
async function verifyObject(repository: ArtifactRepository, object: PlannedObject): Promise<'checksum' | 'content'> {
  const stored = await repository.head(object.key);
  const wrong = (what: string) =>
    new ReleaseError(`${repository.location}/${object.key}: ${what} after the upload; rerun the publish to repair it`);
  if (!stored) throw wrong('is missing');
  if (stored.size !== object.size) throw wrong(`has ${stored.size} bytes, not ${object.size}`);
  if (object.action === 'skipped' && object.proof) return object.proof;
  if ((await repository.hashContent(object.key)) !== object.sha256) throw wrong('does not match its SHA-256');
  return 'content';
}
