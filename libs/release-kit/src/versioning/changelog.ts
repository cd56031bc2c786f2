import valid from 'semver/functions/valid';
import compare from 'semver/functions/compare';
import { ReleaseError } from '../support/errors';
import { CHANGE_GROUPS, changeCount, changeLine, describeRelease, GroupedChanges, isForced, ReleaseKind, sinceText } from './release-notes';

export const CHANGELOG_FILE = 'CHANGELOG.md';

/** A new changelog's first lines. */
const PREAMBLE = `# Changelog

All notable changes to SpaceTime VR, newest first, in the style of
[Keep a Changelog](https://keepachangelog.com/en/1.1.0/). Versions follow
[Semantic Versioning](https://semver.org/spec/v2.0.0.html). \`nx run release:version\` writes each
entry from the conventional commits since the previous \`v*\` tag.
`;

export interface ChangelogEntryInput {
  version: string;
  /** The release date, `YYYY-MM-DD`. */
  date: string;
  kind: ReleaseKind;
  /** The tag the changes are counted from; none for the first release. */
  previousTag?: string;
  changes: GroupedChanges;
}

/** `## [2.6.0] - 2025-12-02` and the changes under Keep a Changelog's headings. */
export function renderChangelogEntry(input: ChangelogEntryInput): string {
  const out = [`## [${input.version}] - ${input.date}`];
  if (isForced(input.kind)) out.push('', `A ${describeRelease(input.kind)}.`);
  for (const group of CHANGE_GROUPS) {
    const entries = input.changes[group.id];
    if (entries.length) out.push('', `### ${group.changelog}`, '', ...entries.map(changeLine));
  }
  if (!changeCount(input.changes)) out.push('', `No \`feat\`, \`fix\`, \`perf\` or breaking commits ${sinceText(input.previousTag)}.`);
  return `${out.join('\n')}\n`;
}

const ENTRY_HEADING = /^## \[([^\]]*)\]/;

/**
 * The changelog with `entry` as the entry of `version`: an entry already there for that version
 * is replaced, otherwise it goes before the first older version (newest first), after any
 * `[Unreleased]` section. Everything else is kept as it is, so applying one entry twice gives the
 * same text. A version heading that is not a version, or a version listed twice, is an error
 * naming the line.
 */
export function updateChangelog(text: string | undefined, version: string, entry: string, file = CHANGELOG_FILE): string {
  const lines = (text ?? PREAMBLE).replace(/\r\n/g, '\n').replace(/\n*$/, '').split('\n');
  const headings = entryHeadings(lines, file);
  const same = headings.find((h) => h.version === version);
  const older = headings.find((h) => h.version !== undefined && compare(h.version, version) < 0);
  const entryLines = entry.replace(/\n+$/, '').split('\n');
  let result: string[];
  if (same) {
    const end = headings.find((h) => h.line > same.line)?.line ?? lines.length;
    result = [...lines.slice(0, same.line), ...entryLines, ...(end < lines.length ? [''] : []), ...lines.slice(end)];
  } else if (older) {
    result = [...lines.slice(0, older.line), ...entryLines, '', ...lines.slice(older.line)];
  } else {
    result = [...lines, '', ...entryLines];
  }
  return `${result.join('\n')}\n`;
}

/** Each `## [...]` heading: its 0-based line and its version (none for `[Unreleased]`). */
function entryHeadings(lines: string[], file: string): Array<{ line: number; version?: string }> {
  const seen = new Map<string, number>();
  const headings: Array<{ line: number; version?: string }> = [];
  let fence = false;
  lines.forEach((text, line) => {
    if (/^\s*```/.test(text)) fence = !fence;
    const heading = fence ? null : ENTRY_HEADING.exec(text);
    if (!heading) return;
    const name = heading[1].trim();
    if (/^unreleased$/i.test(name)) return headings.push({ line });
    if (valid(name) !== name)
      throw new ReleaseError(`"## [${name}]" is not a version heading (MAJOR.MINOR.PATCH, or [Unreleased])`, { file, line: line + 1 });
    if (seen.has(name))
      throw new ReleaseError(`version ${name} has a second entry (the first is on line ${seen.get(name)! + 1})`, {
        file,
        line: line + 1,
        hint: 'keep one entry per version',
      });
    seen.set(name, line);
    headings.push({ line, version: name });
  });
  return headings;
}
