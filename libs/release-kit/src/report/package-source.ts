import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import valid from 'semver/functions/valid';
import { archiveNames, attestationName, packageFolderName, PUBLIC_KEY_FILE } from '../format/layout';
import { ReleaseError } from '../support/errors';
import { isAlive } from '../support/process-alive';
import { chooseArtifactRepo, parseArtifactRepo } from '../publish/artifact-repository';
import { withRetry } from '../publish/retry';
import { s3Client, S3Repository } from '../publish/s3-repository';

/** A package to read: a local folder or archive, with the public key (and attestation) beside it. */
export interface PackageSource {
  path: string;
  /** Where it came from, as the diff names it. */
  shownAs: string;
  /** Removes what was downloaded for it. */
  dispose(): void;
}

export interface PackageSourceOptions {
  workspaceRoot: string;
  env: NodeJS.ProcessEnv;
  /** The repository a version is read from, when given as an option (`--artifactRepo`). */
  artifactRepo?: string;
  log?: (line: string) => void;
}

/** Downloads stay out of dist/ and of the Nx daemon's file watch. */
const DOWNLOADS = 'node_modules/.cache/spacetime-release-diff';

/**
 * Where `--from` points: a package folder, a .tar.gz or .zip (relative to the workspace), or a
 * version, read from the artifact repository the way release:publish chooses it (the option,
 * ARTIFACT_REPO, else the default `dist/artifact-repo`) at the layout it writes,
 * `releases/v<version>/`. From an `s3://` repository the archive, the public key and the
 * attestation are downloaded (streamed to disk) and removed by `dispose`.
 */
export async function openPackageSource(from: string, options: PackageSourceOptions): Promise<PackageSource> {
  const path = isAbsolute(from) ? from : join(options.workspaceRoot, from);
  if (existsSync(path)) return { path, shownAs: from, dispose: () => undefined };
  const version = valid(from.replace(/^v/, ''));
  if (!version) throw new ReleaseError('--from is neither an existing package folder or archive nor a version', { file: from });
  const { url, source: setting } = chooseArtifactRepo(options.artifactRepo, options.env, options.workspaceRoot, '--artifactRepo');
  const address = parseArtifactRepo(url, setting);
  const folder = `releases/v${version}`;
  const archive = archiveNames(version).tarGz;
  const missing = (where: string) =>
    new ReleaseError(`version ${version} is not in ${setting} (${url})`, {
      file: where,
      hint: `point ${setting === '--artifactRepo' ? setting : 'ARTIFACT_REPO'} at the repository that has it, or pass the package itself`,
    });
  if (address.kind === 'file') {
    const local = join(address.root, folder, archive);
    if (!existsSync(local)) throw missing(local);
    return { path: local, shownAs: `${url.replace(/\/+$/, '')}/${folder}/${archive}`, dispose: () => undefined };
  }
  const log = options.log ?? (() => undefined);
  const client = s3Client(options.env);
  const repository = new S3Repository(client, address.bucket, address.prefix, log);
  await repository.checkAccess();
  const key = (name: string) => `${folder}/${name}`;
  if (!(await repository.head(key(archive)))) throw missing(`${repository.location}/${key(archive)}`);
  const dir = downloadFolder(options.workspaceRoot);
  try {
    const objectKey = [address.prefix, key(archive)].filter(Boolean).join('/');
    await withRetry(
      `GetObject ${key(archive)}`,
      async () => {
        const out = await client.send(new GetObjectCommand({ Bucket: address.bucket, Key: objectKey }));
        await pipeline(out.Body as Readable, createWriteStream(join(dir, archive)));
      },
      log,
    );
    for (const name of [PUBLIC_KEY_FILE, attestationName(packageFolderName(version))]) {
      const data = await repository.read(key(name));
      if (data) writeFileSync(join(dir, name), data);
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    if (e instanceof ReleaseError) throw e;
    throw new ReleaseError(`downloading ${repository.location}/${key(archive)} failed: ${(e as Error).message}`, { file: setting });
  }
  return {
    path: join(dir, archive),
    shownAs: `${repository.location}/${key(archive)}`,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A new folder for one run's downloads; those of runs that died are removed first. */
function downloadFolder(workspaceRoot: string): string {
  const root = join(workspaceRoot, DOWNLOADS);
  mkdirSync(root, { recursive: true });
  for (const name of readdirSync(root)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!isAlive(pid)) rmSync(join(root, name), { recursive: true, force: true });
  }
  return mkdtempSync(join(root, `${process.pid}-`));
}
