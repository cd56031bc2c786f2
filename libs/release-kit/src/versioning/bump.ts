import * as semver from 'semver';
import { ReleaseError } from '../support/errors';
import { parseVersion } from './version-file';

export const VERSION_BUMPS = ['major', 'minor', 'patch', 'premajor', 'preminor', 'prepatch', 'prerelease'] as const;
export type VersionBump = (typeof VERSION_BUMPS)[number];
/** `auto`: the bump the conventional commits call for (the default). */
export const AUTO_BUMP = 'auto';
export type BumpRequest = VersionBump | typeof AUTO_BUMP;

/** What a release changes for its users, by SemVer, lowest first. */
export const RELEASE_LEVELS = ['patch', 'minor', 'major'] as const;
export type ReleaseLevel = (typeof RELEASE_LEVELS)[number];

export function levelRank(level: ReleaseLevel): number {
  return RELEASE_LEVELS.indexOf(level);
}

export interface VersionRequest {
  /** How to bump the current version; `auto` is decided from the commits before nextVersion. */
  bump?: VersionBump;
  /** Pre-release identifier for the pre* bumps, e.g. `rc` (2.5.0 -> prerelease -> 2.5.1-rc.0). */
  preid?: string;
  /** An explicit new version instead of a bump (`--to`). */
  version?: string;
}

/** The next version: strictly greater than `current` by SemVer precedence, or an error. */
export function nextVersion(current: string, request: VersionRequest): string {
  parseVersion(current);
  if ((request.bump === undefined) === (request.version === undefined)) {
    throw new ReleaseError(`give either --bump (${VERSION_BUMPS.join('|')}) or --to=<x.y.z>, not ${request.bump ? 'both' : 'neither'}`);
  }
  if (request.preid !== undefined && !/^[0-9A-Za-z-]+$/.test(request.preid)) {
    throw new ReleaseError(`--preid="${request.preid}" is not a pre-release identifier (letters, digits and "-", e.g. rc)`);
  }
  let next: string;
  if (request.version !== undefined) {
    next = parseVersion(request.version, '--to');
  } else {
    if (!(VERSION_BUMPS as readonly string[]).includes(request.bump!)) {
      throw new ReleaseError(`--bump=${request.bump} is not one of ${VERSION_BUMPS.join(', ')}`);
    }
    if (request.preid !== undefined && !request.bump!.startsWith('pre')) {
      throw new ReleaseError(`--preid applies to premajor, preminor, prepatch and prerelease, not to --bump=${request.bump}`);
    }
    const bumped = request.preid === undefined ? semver.inc(current, request.bump!) : semver.inc(current, request.bump!, request.preid);
    if (bumped === null) throw new ReleaseError(`cannot bump ${current} by ${request.bump}`);
    next = bumped;
  }
  if (!semver.gt(next, current)) {
    throw new ReleaseError(`the new version ${next} is not greater than the current version ${current}`, {
      file: 'VERSION',
      line: 1,
      hint: 'versions only move forward (SemVer precedence); pick a higher version',
    });
  }
  return next;
}

/**
 * The level of the release `version` leads to (itself, or the final version of a pre-release)
 * above the release `released`: 2.5.0 -> 2.6.0-rc.1 is a minor release.
 */
export function releaseLevel(released: string, version: string): ReleaseLevel {
  if (semver.major(version) !== semver.major(released)) return 'major';
  if (semver.minor(version) !== semver.minor(released)) return 'minor';
  return 'patch';
}

/**
 * The bump that makes the next version for a release of `level` after the release `released`
 * (none before the first release). A pre-release whose own release is already of that level is
 * continued (`--preid`) or made final; otherwise the version moves by `level`, or to the first
 * pre-release of it with `--preid`.
 */
export function automaticBump(current: string, level: ReleaseLevel, released: string | undefined, preid?: string): VersionBump {
  if (semver.prerelease(current) !== null) {
    const covered = released === undefined || levelRank(releaseLevel(released, current)) >= levelRank(level);
    if (covered) return preid === undefined ? finalizingBump(current) : 'prerelease';
  }
  return preid === undefined ? level : `pre${level}`;
}

/** The bump semver.inc turns into the final version of a pre-release: 2.6.0-rc.1 by minor is 2.6.0. */
function finalizingBump(prerelease: string): ReleaseLevel {
  if (semver.patch(prerelease) > 0) return 'patch';
  return semver.minor(prerelease) > 0 ? 'minor' : 'major';
}

/** The spec's tag name and its annotation: `v2.5.0`, "Release v2.5.0 - VR Performance Optimizations". */
export function versionTag(version: string): string {
  return `v${version}`;
}

export function tagMessage(version: string, title: string): string {
  return `Release ${versionTag(version)} - ${checkTitle(title)}`;
}

export function bumpCommitMessage(version: string): string {
  return `Bump version to ${version}`;
}

export function checkTitle(title: string | undefined): string {
  const t = (title ?? '').trim();
  if (!t) throw new ReleaseError('--title is missing: the release needs a title (e.g. --title="VR Performance Optimizations")');
  if (/[\r\n]/.test(t)) throw new ReleaseError('--title must be one line');
  return t;
}
