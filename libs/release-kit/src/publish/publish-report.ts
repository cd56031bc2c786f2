import { renameSync, writeFileSync } from 'node:fs';
import { partialPathFor } from '../support/move-into-place';
import { stableJson } from '../support/stable-json';
import { PublishMode } from './publish-target';

export const PUBLISH_REPORT_FILE = 'publish-report.json';
export const PUBLISH_REPORT_FORMAT = 2;

/** uploaded: new; skipped: already there with the same SHA-256; overwritten: different content replaced by --force. */
export type ObjectAction = 'uploaded' | 'skipped' | 'overwritten';

export interface PublishedObject {
  key: string;
  size: number;
  sha256: string;
  action: ObjectAction;
  /**
   * How its bytes were proven to be the local file's: `checksum`, the SHA-256 checksum the store
   * computed (S3, for an object already there); `content`, downloaded (or read) and hashed.
   */
  verified: 'checksum' | 'content';
}

/**
 * What the registry holds: for the daemonless build's tarball `digest` is its image index and
 * `manifests` each platform's image (the Helm chart pins the index); for the engine's, one image.
 */
export type PublishedImage =
  { registry: string; references: string[]; digest: string; manifests?: Record<string, string> } | { skipped: string };

/** What a publish did; holds no secret (no credentials, no signed URL), no wall-clock time. */
export interface PublishReport {
  format: typeof PUBLISH_REPORT_FORMAT;
  name: string;
  version: string;
  build_date: string;
  configuration: string;
  /** `release` (`releases/v<version>/`) or `snapshot` (`snapshots/<version>-<short commit>/`, with --snapshot). */
  mode: PublishMode;
  /** Key prefix of the package's objects, relative to the repository. */
  prefix: string;
  /** Why the package is a development package (a snapshot may be one; a release never is). */
  development: string[];
  repository: string;
  acl: 'public-read' | 'default';
  objects: PublishedObject[];
  /** Keys whose earlier, different content was replaced because of --force. */
  forced: string[];
  image: PublishedImage;
  /** `index` is null for a snapshot, which never touches the chart index. */
  chart: { key: string; sha256: string; index: string | null; image: string };
}

/** Writes the report beside the release outputs: temporary file, then rename. */
export function writePublishReport(file: string, report: PublishReport): void {
  const staged = partialPathFor(file);
  writeFileSync(staged, stableJson(report));
  renameSync(staged, file);
}

const NO_INDEX = 'no index (a snapshot)';

export function formatPublishSummary(report: PublishReport, seconds: number): string {
  const count = (action: ObjectAction) => report.objects.filter((o) => o.action === action).length;
  const bytes = report.objects.filter((o) => o.action !== 'skipped').reduce((sum, o) => sum + o.size, 0);
  const lines = [
    `published ${report.name} ${report.version} as a ${report.mode} to ${report.repository}/${report.prefix} in ${seconds.toFixed(1)} s: ` +
      `${count('uploaded')} uploaded, ${count('skipped')} already there, ${count('overwritten')} overwritten ` +
      `(${(bytes / (1 << 20)).toFixed(1)} MiB sent)`,
    ...report.objects.map(
      (o) => `  ${o.action.padEnd(11)} ${o.key} (${o.size} bytes, sha256 ${o.sha256.slice(0, 12)}..., verified by ${o.verified})`,
    ),
    'skipped' in report.image
      ? `  SKIPPED image: ${report.image.skipped}`
      : `  image ${report.image.references.join(', ')} @ ${report.image.digest}` +
        (report.image.manifests ? ` (index of ${Object.keys(report.image.manifests).join(', ')})` : ''),
    `  chart ${report.chart.key} (image ${report.chart.image}), ${report.chart.index ? `index ${report.chart.index}` : NO_INDEX}`,
  ];
  if (report.forced.length) lines.push(`  FORCED overwrite of: ${report.forced.join(', ')}`);
  return lines.join('\n');
}
