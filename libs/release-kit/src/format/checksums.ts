import { ReleaseError } from '../support/errors';
import { compareBytes } from '../support/stable-json';

export interface ChecksumEntry {
  path: string;
  sha256: string;
}

/** `sha256sum` format: `<hex>  ./<path>`, LF, sorted bytewise by path. */
export function formatSha256Sums(entries: ChecksumEntry[]): string {
  return [...entries]
    .sort((a, b) => compareBytes(a.path, b.path))
    .map((e) => `${e.sha256}  ./${e.path}\n`)
    .join('');
}

const LINE = /^([0-9a-f]{64}) {2}\.\/(.+)$/;

/** Parses SHA256SUMS strictly; a malformed or unsorted line names its line number. */
export function parseSha256Sums(text: string, shownAs: string): ChecksumEntry[] {
  if (text.length > 0 && !text.endsWith('\n')) throw new ReleaseError('does not end with a newline', { file: shownAs });
  const entries: ChecksumEntry[] = [];
  text
    .split('\n')
    .slice(0, -1)
    .forEach((line, index) => {
      const match = LINE.exec(line);
      if (!match) throw new ReleaseError('is not a `<sha256>  ./<path>` line', { file: shownAs, line: index + 1 });
      const previous = entries[entries.length - 1];
      if (previous && compareBytes(previous.path, match[2]) >= 0)
        throw new ReleaseError(`lists ./${match[2]} out of order or twice`, { file: shownAs, line: index + 1 });
      entries.push({ sha256: match[1], path: match[2] });
    });
  return entries;
}
