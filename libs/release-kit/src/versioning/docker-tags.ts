import * as semver from 'semver';
import { ReleaseError } from '../support/errors';
import { parseVersion } from './version-file';

export interface DockerTagOptions {
  /** A development build (not a release): tagged `dev` only, never a version tag. */
  development?: boolean;
}

/**
 * The tags of the image built for `version`:
 * - a final release 2.5.0: `2.5.0` (what the overlays deploy), `v2.5.0`, `v2.5`, `v2`, `latest`;
 * - a pre-release 2.6.0-rc.1: `2.6.0-rc.1` and `v2.6.0-rc.1` only (it never moves `v2.6`, `v2` or `latest`);
 * - a development build: `dev`.
 * Build metadata (`+build.7`) is not allowed in a Docker tag and is written with `_` instead of `+`.
 */
export function dockerTags(version: string, options: DockerTagOptions = {}): string[] {
  const v = parseVersion(version);
  if (options.development) return ['dev'];
  const exact = v.replace(/\+/g, '_');
  const tags = [exact, `v${exact}`];
  if (semver.prerelease(v) === null) {
    const major = semver.major(v);
    const minor = semver.minor(v);
    tags.push(`v${major}.${minor}`, `v${major}`, 'latest');
  }
  for (const tag of tags) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag))
      throw new ReleaseError(`"${tag}" (from version ${version}) is not a valid Docker tag`);
  }
  return tags;
}
