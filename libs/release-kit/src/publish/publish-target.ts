import { Manifest } from '../format/manifest';
import { ReleaseError } from '../support/errors';
import { HELM_INDEX_FILE } from './helm-index';

/** `release`: `releases/v<version>/` and the chart index; `snapshot`: `snapshots/<version>-<short commit>/` only. */
export type PublishMode = 'release' | 'snapshot';

/** Where a publish writes, decided from the package's own MANIFEST.json. */
export interface PublishTarget {
  mode: PublishMode;
  /** Key prefix of the package's objects: `releases/v2.5.0` or `snapshots/2.5.0-1a2b3c4`. */
  dir: string;
  /** Folder of the chart archive: `charts`, or a snapshot's own folder. */
  chartDir: string;
  /** Key of the merged Helm index, or none: a snapshot never touches the index. */
  indexKey?: string;
  /** Why the package is a development package (empty for a production package). */
  development: string[];
}

/**
 * Why a package is not fit for `releases/`: built with the development configuration, signed with
 * the development key, something skipped, or built from a git tree with uncommitted changes.
 */
export function developmentReasons(manifest: Manifest): string[] {
  const reasons: string[] = [];
  if (manifest.configuration !== 'production') reasons.push(`it was built with the ${manifest.configuration ?? 'unknown'} configuration`);
  if (manifest.signing?.development) reasons.push('it is signed with the development key');
  const skipped = manifest.skipped ?? [];
  if (skipped.length) reasons.push(`it skipped ${skipped.map((s) => s.artifact).join(', ')}`);
  if (manifest.git_dirty) reasons.push('it was built from a git tree with uncommitted changes');
  return reasons;
}

/**
 * A release goes to `releases/v<version>/` (chart under `charts/`, merged into `charts/index.yaml`)
 * and must be a production package. A snapshot (`--snapshot`, any package) goes to
 * `snapshots/<version>-<first 7 hex of git_commit>/`, chart included, and writes nothing else.
 */
export function publishTarget(manifest: Manifest, version: string, snapshot: boolean, manifestFile: string): PublishTarget {
  const development = developmentReasons(manifest);
  if (snapshot) {
    const commit = /^[0-9a-f]{7,}$/.exec(manifest.git_commit ?? '');
    if (!commit)
      throw new ReleaseError(
        `records no git commit ("${manifest.git_commit}"): a snapshot is named after its commit, and this is not a git checkout`,
        {
          file: manifestFile,
          hint: 'assemble the release from a git checkout',
        },
      );
    const dir = `snapshots/${version}-${commit[0].slice(0, 7)}`;
    return { mode: 'snapshot', dir, chartDir: dir, development };
  }
  if (development.length)
    throw new ReleaseError(`is a development package, which is never published under releases/: ${development.join('; ')}`, {
      file: manifestFile,
      hint: 'build with release:assemble:production, or publish it with --snapshot',
    });
  return { mode: 'release', dir: `releases/v${version}`, chartDir: 'charts', indexKey: `charts/${HELM_INDEX_FILE}`, development };
}
