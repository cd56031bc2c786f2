import { checkTitle, levelRank, ReleaseLevel } from './bump';
import { ConventionalCommit, isFeature } from './conventional-commits';

/**
 * The kinds of change the release notes and the changelog list, in their order, with the heading
 * of each in the notes and in the changelog (Keep a Changelog's names). A commit goes to the first
 * kind that takes it, so a breaking feature is listed once, as a breaking change.
 */
export const CHANGE_GROUPS = [
  { id: 'breaking', notes: 'Breaking Changes', changelog: 'Breaking Changes', takes: (c: ConventionalCommit) => c.breaking.length > 0 },
  { id: 'features', notes: 'New Features', changelog: 'Added', takes: isFeature },
  { id: 'fixes', notes: 'Fixes', changelog: 'Fixed', takes: (c: ConventionalCommit) => c.type === 'fix' },
  { id: 'performance', notes: 'Performance', changelog: 'Changed', takes: (c: ConventionalCommit) => c.type === 'perf' },
] as const;

export type ChangeGroup = (typeof CHANGE_GROUPS)[number]['id'];

export interface ChangeEntry {
  hash: string;
  scope?: string;
  text: string;
}

export type GroupedChanges = Record<ChangeGroup, ChangeEntry[]>;

/** Groups commits (oldest first) into the kinds of change; other types are left out. */
export function groupCommits(commits: ConventionalCommit[]): GroupedChanges {
  const groups = Object.fromEntries(CHANGE_GROUPS.map((g) => [g.id, [] as ChangeEntry[]])) as GroupedChanges;
  for (const c of commits) {
    const group = CHANGE_GROUPS.find((g) => g.takes(c));
    if (group) groups[group.id].push({ hash: c.hash, ...(c.scope ? { scope: c.scope } : {}), text: entryText(c) });
  }
  return groups;
}

/** The description, and for a breaking change what breaks when its note says more. */
function entryText(c: ConventionalCommit): string {
  const notes = c.breaking.filter((n) => n !== c.subject);
  return notes.length ? `${c.subject}: ${notes.join('; ')}` : c.subject;
}

/** `- **scope:** text (1a2b3c4)` */
export function changeLine(e: ChangeEntry): string {
  return `- ${e.scope ? `**${e.scope}:** ` : ''}${e.text} (${e.hash.slice(0, 7)})`;
}

export function changeCount(changes: GroupedChanges): number {
  return CHANGE_GROUPS.reduce((n, g) => n + changes[g.id].length, 0);
}

/** What a release is, by its version and by what its commits change. */
export interface ReleaseKind {
  /** Its level above the previous release (2.5.0 -> 2.6.0-rc.1: minor). */
  level: ReleaseLevel;
  /** The level its commits call for; none when they call for no release. */
  required?: ReleaseLevel;
  prerelease: boolean;
  /** What its changes since the previous release hold, the weightiest first. */
  holds: 'breaking' | 'features' | 'fixes' | 'none';
}

/** What the changes of a release hold, the weightiest kind first. */
export function changesHold(changes: GroupedChanges): ReleaseKind['holds'] {
  if (changes.breaking.length) return 'breaking';
  if (changes.features.length) return 'features';
  return changes.fixes.length || changes.performance.length ? 'fixes' : 'none';
}

const HOLDS: Record<ReleaseKind['holds'], string> = {
  breaking: 'breaking changes',
  features: 'new features, backward compatible',
  fixes: 'fixes, backward compatible',
  none: 'no feature, fix or breaking change',
};

/**
 * The notes' **Type:** line. A release whose version is lower than its commits call for (made with
 * `--force`) is named after its changes, never after its version: a breaking change is never
 * called a patch.
 */
export function describeRelease(kind: ReleaseKind): string {
  if (isForced(kind)) return `release with ${HOLDS[kind.holds]}, numbered with --force (SemVer calls for a ${kind.required} release)`;
  return `${kind.prerelease ? 'pre-release of a ' : ''}${kind.level} release (${HOLDS[kind.holds]})`;
}

/** Whether the version is lower than the commits call for (allowed only with --force). */
export function isForced(kind: ReleaseKind): boolean {
  return kind.required !== undefined && levelRank(kind.level) < levelRank(kind.required);
}

export interface ReleaseNotesInput {
  previousVersion: string;
  version: string;
  title: string;
  kind: ReleaseKind;
  /** The last `v*` tag the changes are counted from; none for the first release. */
  previousTag?: string;
  changes: GroupedChanges;
  /** The current notes source: its generic sections (e.g. "Verifying This Release") are kept. */
  previousNotes?: string;
}

/** Sections of the current notes that hold for every release and are carried over. */
const KEPT_SECTIONS = ['Verifying This Release'];

/** `since v2.5.0`, or since the first commit. */
export function sinceText(tag: string | undefined): string {
  return tag ? `since ${tag}` : 'since the first commit';
}

/**
 * RELEASE_NOTES.source.md for a new version. `{{version}}` stays a token: the package step
 * fills it in (libs/release-kit/src/assemble/root-documents.ts), and adds the full commit list.
 */
export function renderReleaseNotes(input: ReleaseNotesInput): string {
  const title = checkTitle(input.title);
  const since = sinceText(input.previousTag);
  const out = [
    `# SpaceTime VR {{version}}: ${title}`,
    '',
    `**Release:** {{version}}`,
    `**Type:** ${describeRelease(input.kind)}`,
    `**Previous version:** ${input.previousVersion}`,
    '',
    `Changes ${since}, from the conventional commit messages (\`feat\`, \`fix\`, \`perf\`, \`BREAKING CHANGE\`).`,
  ];
  for (const group of CHANGE_GROUPS) {
    const entries = input.changes[group.id];
    if (entries.length) out.push('', `## ${group.notes}`, '', ...entries.map(changeLine));
  }
  if (!changeCount(input.changes)) out.push('', `No \`feat\`, \`fix\`, \`perf\` or breaking commits ${since}.`);
  for (const heading of KEPT_SECTIONS) {
    const kept = input.previousNotes ? markdownSection(input.previousNotes, heading) : undefined;
    if (kept) out.push('', kept);
  }
  return `${out.join('\n')}\n`;
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
