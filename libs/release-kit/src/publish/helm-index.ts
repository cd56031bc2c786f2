import * as semver from 'semver';
import { stringify } from 'yaml';
import { ReleaseError } from '../support/errors';
import { stableJson } from '../support/stable-json';
import { parseYamlText } from '../support/yaml-file';

export const HELM_INDEX_FILE = 'index.yaml';

export interface HelmIndexEntry {
  /** Chart.yaml's fields. */
  metadata: Record<string, unknown>;
  /** sha256 of the chart .tgz (hex). */
  digest: string;
  /** The .tgz's URL, relative to the index. */
  url: string;
  /** The release's build date (MANIFEST.json build_date). */
  created: string;
}

interface HelmIndex {
  apiVersion: string;
  entries: Record<string, Array<Record<string, unknown>>>;
  generated?: string;
}

export interface MergedIndex {
  text: string;
  /** The index already listed this chart version with other content and `force` replaced it. */
  replaced: boolean;
}

/**
 * Adds a chart version to a Helm repository index, keeping every other chart and version.
 * The same version with the same digest leaves the entry as it is; with another digest it is a
 * conflict (a released chart never changes) unless forced. Output is deterministic: keys sorted,
 * versions newest first, `generated` the given build date.
 */
export function mergeHelmIndex(
  existing: string | undefined,
  entry: HelmIndexEntry,
  generated: string,
  force: boolean,
  shownAs: string,
): MergedIndex {
  const index: HelmIndex = existing ? readIndex(existing, shownAs) : { apiVersion: 'v1', entries: {} };
  const name = String(entry.metadata.name);
  const version = String(entry.metadata.version);
  const versions = index.entries[name] ?? [];
  const current = versions.find((v) => v.version === version);
  let replaced = false;
  if (current && current.digest !== entry.digest) {
    if (!force)
      throw new ReleaseError(
        `already lists ${name} ${version} with digest ${String(current.digest)}, not ${entry.digest}: a released chart never changes`,
        { file: shownAs, hint: 'publish a new version, or rerun with --force to overwrite it (recorded in the publish report)' },
      );
    replaced = true;
  }
  const others = versions.filter((v) => v.version !== version);
  const added = current && !replaced ? current : { ...entry.metadata, created: entry.created, digest: entry.digest, urls: [entry.url] };
  index.entries[name] = [...others, added].sort(newestFirst);
  const sorted = JSON.parse(stableJson({ ...index, generated }));
  return { text: stringify(sorted, { lineWidth: 0 }), replaced };
}

function readIndex(text: string, shownAs: string): HelmIndex {
  const index = parseYamlText(text, shownAs) as HelmIndex;
  if (!index || typeof index !== 'object' || typeof index.entries !== 'object' || index.entries === null) {
    throw new ReleaseError('is not a Helm repository index (no entries map)', { file: shownAs });
  }
  return index;
}

function newestFirst(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const va = semver.valid(String(a.version));
  const vb = semver.valid(String(b.version));
  if (va && vb) return semver.rcompare(va, vb) || semver.compareBuild(vb, va);
  return va ? -1 : vb ? 1 : String(b.version).localeCompare(String(a.version));
}
