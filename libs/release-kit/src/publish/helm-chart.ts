import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { fileMode } from '../format/determinism';
import { sha256 } from '../support/digest';
import { ReleaseError } from '../support/errors';
import { gzipMember } from '../archive/gzip';
import { compareBytes } from '../support/stable-json';
import { TAR_END, tarHeader, tarPadding } from '../archive/tar-header';

/** The image the chart deploys, pinned by digest once it has been pushed. */
export interface PinnedImage {
  registry: string;
  digest: string;
}

export interface HelmChart {
  /** `spacetime-vr-2.5.0.tgz` */
  fileName: string;
  bytes: Buffer;
  sha256: string;
  /** Chart.yaml as written into the archive: the Helm index entry's fields. */
  metadata: Record<string, unknown>;
}

/**
 * `helm package` of the packaged chart, deterministically: entries `<name>/<path>` sorted
 * bytewise, files only, one mtime, owner 0:0, modes by rule, fixed gzip header. Chart.yaml gets
 * `version` and `appVersion`; values.yaml the registry and digest of the pushed image.
 */
export function packageHelmChart(options: { chartDir: string; version: string; image?: PinnedImage; mtime: number }): HelmChart {
  const chartYaml = join(options.chartDir, 'Chart.yaml');
  if (!existsSync(chartYaml)) throw new ReleaseError('is missing: the package holds no Helm chart there', { file: chartYaml });
  const chart = parseDocument(readFileSync(chartYaml, 'utf8'));
  if (chart.errors.length) throw new ReleaseError(`is not valid YAML: ${chart.errors[0].message}`, { file: chartYaml });
  chart.set('version', options.version);
  chart.set('appVersion', options.version);
  const metadata = chart.toJS() as Record<string, unknown>;
  const name = metadata.name;
  if (typeof name !== 'string' || !/^[a-z0-9-]+$/.test(name)) throw new ReleaseError('has no valid chart name', { file: chartYaml });

  const replaced = new Map<string, string>([['Chart.yaml', chart.toString()]]);
  if (options.image) {
    const valuesYaml = join(options.chartDir, 'values.yaml');
    const values = parseDocument(existsSync(valuesYaml) ? readFileSync(valuesYaml, 'utf8') : '');
    values.setIn(['image', 'registry'], options.image.registry);
    values.setIn(['image', 'digest'], options.image.digest);
    replaced.set('values.yaml', values.toString());
  }

  const entries = listFiles(options.chartDir).sort(compareBytes);
  const pieces: Buffer[] = [];
  for (const path of entries) {
    const file = join(options.chartDir, path);
    const content = replaced.has(path) ? Buffer.from(replaced.get(path)!) : readFileSync(file);
    pieces.push(
      tarHeader({
        path: `${name}/${path}`,
        type: 'file',
        size: content.length,
        mode: fileMode(path, statSync(file).mode),
        mtime: options.mtime,
      }),
      content,
      tarPadding(content.length),
    );
  }
  pieces.push(TAR_END);
  const bytes = gzipMember(Buffer.concat(pieces));
  return { fileName: `${name}-${options.version}.tgz`, bytes, sha256: sha256(bytes), metadata };
}

function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)).split(sep).join('/'));
}
