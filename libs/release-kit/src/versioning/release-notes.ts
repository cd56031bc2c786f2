import * as semver from 'semver';
import { checkTitle } from './bump';

export interface CommitMessage {
  /** Short hash. */
  hash: string;
  subject: string;
  body: string;
}

export interface ConventionalCommit {
  hash: string;
  type: string;
  scope?: string;
  description: string;
  breaking: boolean;
  /** The BREAKING CHANGE footer's text, or the description for `type!:`. */
  breakingNote?: string;
}

const HEADER = /^([A-Za-z]+)(?:\(([^()\r\n]+)\))?(!)?: +(\S.*)$/;
const BREAKING_FOOTER = /^BREAKING[ -]CHANGE: *(.*(?:\n(?!\n).*)*)/m;

/** Parses `type(scope)!: description` and a `BREAKING CHANGE:` footer; other messages give undefined. */
export function parseConventionalCommit(commit: CommitMessage): ConventionalCommit | undefined {
  const header = HEADER.exec(commit.subject.trim());
  if (!header) return undefined;
  const [, type, scope, bang, description] = header;
  const footer = BREAKING_FOOTER.exec(commit.body);
  const breakingNote = footer ? footer[1].replace(/\s*\n\s*/g, ' ').trim() || description : bang ? description : undefined;
  return {
    hash: commit.hash,
    type: type.toLowerCase(),
    scope,
    description: description.trim(),
    breaking: breakingNote !== undefined,
    breakingNote,
  };
}

export interface ChangeEntry {
  hash: string;
  scope?: string;
  text: string;
}

export interface GroupedChanges {
  breaking: ChangeEntry[];
  features: ChangeEntry[];
  fixes: ChangeEntry[];
  performance: ChangeEntry[];
}

/** Groups commits (oldest first) into the release notes' sections; other types are left out. */
export function groupCommits(commits: CommitMessage[]): GroupedChanges {
  const groups: GroupedChanges = { breaking: [], features: [], fixes: [], performance: [] };
  for (const commit of commits) {
    const c = parseConventionalCommit(commit);
    if (!c) continue;
    const entry = (text: string): ChangeEntry => ({ hash: c.hash, ...(c.scope ? { scope: c.scope } : {}), text });
    if (c.breaking) groups.breaking.push(entry(c.breakingNote!));
    if (c.type === 'feat') groups.features.push(entry(c.description));
    else if (c.type === 'fix') groups.fixes.push(entry(c.description));
    else if (c.type === 'perf') groups.performance.push(entry(c.description));
  }
  return groups;
}

export interface ReleaseNotesInput {
  previousVersion: string;
  version: string;
  title: string;
  /** The last `v*` tag the changes are counted from; none for the first release. */
  previousTag?: string;
  changes: GroupedChanges;
  /** The current notes source: its generic sections (e.g. "Verifying This Release") are kept. */
  previousNotes?: string;
}

/** Sections of the current notes that hold for every release and are carried over. */
const KEPT_SECTIONS = ['Verifying This Release'];

/**
 * RELEASE_NOTES.source.md for a new version. `{{version}}` stays a token: the package step
 * fills it in (libs/release-kit/src/assemble/root-documents.ts), and adds the full commit list.
 */
export function renderReleaseNotes(input: ReleaseNotesInput): string {
  const title = checkTitle(input.title);
  const kind = releaseKind(input.previousVersion, input.version);
  const since = input.previousTag ? `since ${input.previousTag}` : 'since the first commit';
  const out = [
    `# SpaceTime VR {{version}}: ${title}`,
    '',
    `**Release:** {{version}}`,
    `**Type:** ${kind}`,
    `**Previous version:** ${input.previousVersion}`,
    '',
    `Changes ${since}, from the conventional commit messages (\`feat\`, \`fix\`, \`perf\`, \`BREAKING CHANGE\`).`,
  ];
  const sections: Array<[string, ChangeEntry[]]> = [
    ['Breaking Changes', input.changes.breaking],
    ['New Features', input.changes.features],
    ['Fixes', input.changes.fixes],
    ['Performance', input.changes.performance],
  ];
  let any = false;
  for (const [heading, entries] of sections) {
    if (!entries.length) continue;
    any = true;
    out.push('', `## ${heading}`, '');
    for (const e of entries) out.push(`- ${e.scope ? `**${e.scope}:** ` : ''}${e.text} (${e.hash})`);
  }
  if (!any) out.push('', `No \`feat\`, \`fix\`, \`perf\` or breaking commits ${since}.`);
  for (const heading of KEPT_SECTIONS) {
    const kept = input.previousNotes ? markdownSection(input.previousNotes, heading) : undefined;
    if (kept) out.push('', kept);
  }
  return `${out.join('\n')}\n`;
}

function releaseKind(previous: string, next: string): string {
  const pre = semver.prerelease(next) !== null;
  const diff = semver.diff(previous, next) ?? 'patch';
  const base = diff.replace(/^pre(?!release)/, '');
  const word = base === 'prerelease' ? 'pre-release' : `${base} release`;
  if (!pre)
    return base === 'major'
      ? 'major release (breaking changes)'
      : base === 'minor'
        ? 'minor release (backward compatible)'
        : 'patch release (bug fixes)';
  return word === 'pre-release' ? 'pre-release' : `pre-release of a ${word}`;
}

/** `## <heading>` and its text up to the next `## ` heading, trimmed. */
function markdownSection(text: string, heading: string): string | undefined {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) return undefined;
  let end = start + 1;
  let fence = false;
  for (; end < lines.length; end++) {
    if (/^\s*```/.test(lines[end])) fence = !fence;
    if (!fence && /^## /.test(lines[end])) break;
  }
  return lines.slice(start, end).join('\n').trimEnd();
}
