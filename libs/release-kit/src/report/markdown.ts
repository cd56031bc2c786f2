import { DiffStyle, renderDiff } from './diff-document';
import { ReleaseDiff } from './release-diff';

const MARKDOWN: DiffStyle = {
  name: escapeMarkdown,
  code: codeSpan,
  title: (text) => [`# ${text}`, ''],
  fact: (text) => `- ${text}`,
  warning: (text) => `**${text}**`,
  heading: (text) => ['', `## ${text}`, ''],
  scope: (text) => [`### ${text}`, ''],
  change: (change, subject) => `- **${change}** ${subject}`,
  detail: (text) => `  - ${text}`,
  noChanges: 'No changes.',
};

/** The release diff as Markdown (release-diff.md). */
export function diffMarkdown(diff: ReleaseDiff): string {
  return renderDiff(diff, MARKDOWN);
}

/** Backslash-escapes what Markdown would read as markup or HTML (names may hold any of it). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]<>|~&]/g, (c) => `\\${c}`);
}

/** A code span that holds `text` as it is: its fence is longer than any run of backticks inside. */
export function codeSpan(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = /^[` ]|[` ]$/.test(text) ? ' ' : '';
  return `${fence}${pad}${text.replace(/\n/g, ' ')}${pad}${fence}`;
}
