import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { valid } from 'semver';
import { ReleaseError } from '../support/errors';
import { archiveNames } from '../format/layout';

/**
 * Where `--from` points: a package folder, a .tar.gz or .zip (relative to `cwd`), or a version,
 * looked up in ARTIFACT_REPO at the layout release:publish writes,
 * `<repo>/releases/v<version>/spacetime-vr-v<version>.tar.gz`.
 */
export function resolvePackageSource(from: string, cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const path = isAbsolute(from) ? from : join(cwd, from);
  if (existsSync(path)) return path;
  const version = valid(from.replace(/^v/, ''));
  if (!version) throw new ReleaseError('--from is neither an existing package folder or archive nor a version', { file: from });
  const repo = env.ARTIFACT_REPO;
  if (!repo)
    throw new ReleaseError(`--from=${from} is a version, but ARTIFACT_REPO is not set`, {
      file: from,
      hint: 'set ARTIFACT_REPO=file:///path, or pass the package folder or archive',
    });
  const relative = `releases/v${version}/${archiveNames(version).tarGz}`;
  if (repo.startsWith('file://')) {
    const archive = join(fileURLToPath(repo), relative);
    if (!existsSync(archive)) throw new ReleaseError(`version ${version} is not in ARTIFACT_REPO (${repo})`, { file: archive });
    return archive;
  }
  if (repo.startsWith('s3://')) {
    throw new ReleaseError(`ARTIFACT_REPO=${repo}: release:diff reads only file:// repositories and local paths yet`, {
      file: from,
      hint: `download ${repo.replace(/\/$/, '')}/${relative} and pass its path as --from`,
    });
  }
  throw new ReleaseError(`ARTIFACT_REPO=${repo} is neither s3://bucket/prefix nor file:///path`, { file: 'ARTIFACT_REPO' });
}
