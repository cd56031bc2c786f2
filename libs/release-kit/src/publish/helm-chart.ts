import { existsSync, readdirSync, readFileSync, Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { fileMode } from '../format/determinism';
import { sha256 } from '../support/digest';
import { fileSystemError, ReleaseError } from '../support/errors';
import { gzipMember } from '../archive/gzip';
import { compareBytes } from '../support/stable-json';
import { TAR_END, tarHeader, tarPadding } from '../archive/tar-header';
import { findSecrets } from '../validation/secrets';

/** The image the chart deploys, pinned by digest once it has been pushed: the image index (every platform) of the daemonless build. */
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
 * `helm package` of the packaged chart, deterministically: the files `helm package` takes (the
 * chart's `.helmignore` honoured as Helm reads it), entries `<name>/<path>` sorted bytewise, one
 * mtime, owner 0:0, modes by rule, fixed gzip header. Chart.yaml gets `version` and `appVersion`;
 * values.yaml the registry and digest of the pushed image. Every file is scanned for secrets as it
 * goes into the archive: a finding is an error naming the file inside the chart.
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

  const entries = chartFiles(options.chartDir).sort((a, b) => compareBytes(a.path, b.path));
  if (!entries.some((e) => e.path === 'Chart.yaml'))
    throw new ReleaseError('excludes Chart.yaml, which every chart needs', { file: join(options.chartDir, HELM_IGNORE) });
  const pieces: Buffer[] = [];
  for (const { path, stat } of entries) {
    const file = join(options.chartDir, path);
    const content = replaced.has(path) ? Buffer.from(replaced.get(path)!) : readFileSync(file);
    const secret = findSecrets(content)[0];
    if (secret)
      throw new ReleaseError(`${secret.message.replace(/; [^;]*$/, '')}: the Helm chart ${name}-${options.version}.tgz would ship it`, {
        file: `${name}/${path}`,
        line: secret.line,
        hint: `replace it with a <PLACEHOLDER> in ${file}, or list the file in the chart's ${HELM_IGNORE}`,
      });
    pieces.push(
      tarHeader({
        path: `${name}/${path}`,
        type: 'file',
        size: content.length,
        mode: fileMode(path, stat.mode),
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

export const HELM_IGNORE = '.helmignore';

/** One rule of a `.helmignore`, as Helm's pkg/ignore reads it. */
export interface HelmIgnoreRule {
  negate: boolean;
  /** A rule that ended in `/`: it applies to folders only. */
  mustDir: boolean;
  match: (path: string) => boolean;
}

/**
 * The files `helm package` puts in the chart (Helm's chart loader, `LoadDir`): every file below
 * the chart folder, symlinks followed, except those the chart's `.helmignore` excludes; a folder it
 * excludes is not entered. A file that is not regular is an error, as in Helm.
 */
function chartFiles(chartDir: string): Array<{ path: string; stat: Stats }> {
  const ignoreFile = join(chartDir, HELM_IGNORE);
  const rules = parseHelmIgnore(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '', ignoreFile);
  const files: Array<{ path: string; stat: Stats }> = [];
  const visit = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const path = rel ? `${rel}/${name}` : name;
      let stat: Stats;
      try {
        stat = statSync(join(dir, name));
      } catch (error) {
        throw fileSystemError(error, (p) => p, join(dir, name)); // a dangling link, as in Helm
      }
      if (helmIgnores(rules, path, stat.isDirectory())) continue;
      if (stat.isDirectory()) visit(join(dir, name), path);
      else if (stat.isFile()) files.push({ path, stat });
      else throw new ReleaseError('cannot go into the Helm chart: it is not a regular file', { file: join(dir, name) });
    }
  };
  visit(chartDir, '');
  return files;
}

/**
 * A `.helmignore` as Helm 3's pkg/ignore parses it: one pattern a line, blank lines and `#` comments
 * skipped, `!` negates, a trailing `/` matches folders only, a leading `/` anchors at the chart root,
 * a pattern with a `/` matches the whole path and one without matches the base name, with Go's
 * `filepath.Match` (`*` and `?` stop at `/`, `[...]` classes, `\` escapes; no `**`). Helm's default
 * rule, `templates/.?*`, comes last.
 */
export function parseHelmIgnore(text: string, file: string): HelmIgnoreRule[] {
  const rules: HelmIgnoreRule[] = [];
  const add = (raw: string, line?: number) => {
    let rule = goTrimSpace(raw);
    if (rule === '' || rule.startsWith('#')) return;
    if (rule.includes('**')) throw new ReleaseError('double-star (**) syntax is not supported (Helm refuses it)', { file, line });
    try {
      goGlob(rule);
    } catch {
      throw new ReleaseError(`"${rule}" is not a valid pattern (Helm refuses it)`, { file, line });
    }
    const negate = rule.startsWith('!');
    if (negate) rule = rule.slice(1);
    const mustDir = rule.endsWith('/');
    if (mustDir) rule = rule.slice(0, -1);
    const anchored = rule.startsWith('/');
    if (anchored) rule = rule.slice(1);
    let glob: RegExp | undefined;
    try {
      glob = goGlob(rule);
    } catch {
      // Helm logs such a pattern and matches nothing with it.
    }
    const whole = anchored || rule.includes('/');
    const match = (path: string) => !!glob && glob.test(whole ? path : path.slice(path.lastIndexOf('/') + 1));
    rules.push({ negate, mustDir, match });
  };
  // bufio.ScanLines: lines end at \n, a \r before it is dropped.
  text.split('\n').forEach((raw, index) => add(raw.replace(/\r$/, ''), index + 1));
  add('templates/.?*');
  return rules;
}

/**
 * Helm's `Rules.Ignore`: rules in order, the first that matches ignores the path. A negated rule
 * stops at the first path it does not match and ignores it (Helm's reading of `!`: what follows a
 * negation is kept only if it matches it), and lets the paths it matches go on to the next rules.
 */
export function helmIgnores(rules: HelmIgnoreRule[], path: string, isDir: boolean): boolean {
  if (path === '' || path === '.' || path === './') return false;
  for (const rule of rules) {
    if (rule.negate) {
      if ((rule.mustDir && !isDir) || !rule.match(path)) return true;
      continue;
    }
    if (rule.mustDir && !isDir) continue;
    if (rule.match(path)) return true;
  }
  return false;
}

/** Go's white space (unicode.IsSpace): JavaScript's `\s` has the byte order mark instead of U+0085. */
const GO_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Go's strings.TrimSpace. */
function goTrimSpace(s: string): string {
  return s.replace(GO_SPACE, '');
}

/**
 * Go's `filepath.Match` pattern (Unix) as a regular expression for the whole name: `*` any run of
 * characters but `/`, `?` one character but `/`, `[...]` a class of characters and ranges (`^`
 * negates), `\` escapes the next character. Throws on a malformed pattern, as Go reports ErrBadPattern.
 */
function goGlob(pattern: string): RegExp {
  const chars = [...pattern];
  const literal = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  let source = '';
  let i = 0;
  const escaped = () => {
    // getEsc: a class member, `\`-escaped or not; `-` and `]` must be escaped, and the class must go on.
    if (i >= chars.length || chars[i] === '-' || chars[i] === ']') throw new Error('bad pattern');
    if (chars[i] === '\\') i += 1;
    if (i >= chars.length) throw new Error('bad pattern');
    const c = chars[i++];
    if (i >= chars.length) throw new Error('bad pattern');
    return c;
  };
  while (i < chars.length) {
    const c = chars[i++];
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '\\') {
      if (i >= chars.length) throw new Error('bad pattern');
      source += literal(chars[i++]);
    } else if (c === '[') {
      const negated = chars[i] === '^';
      if (negated) i += 1;
      const ranges: string[] = [];
      for (let count = 0; ; count++) {
        if (chars[i] === ']' && count > 0) {
          i += 1;
          break;
        }
        const lo = escaped();
        const hi = chars[i] === '-' ? ((i += 1), escaped()) : lo;
        // Go matches nothing for a range that runs backwards; a regular expression would refuse it.
        if (lo.codePointAt(0)! <= hi.codePointAt(0)!) ranges.push(lo === hi ? literal(lo) : `${literal(lo)}-${literal(hi)}`);
      }
      source += `[${negated ? '^' : ''}${ranges.join('')}]`;
    } else source += literal(c);
  }
  return new RegExp(`^${source}$`, 'u');
}
