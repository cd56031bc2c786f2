import { Change } from './change';
import { changeCount, ReleaseDiff } from './release-diff';

/** The release diff as Markdown: one heading per kind, one sub-heading per scope, one line per change. */
export function diffMarkdown(diff: ReleaseDiff): string {
  const lines = [
    `# Release diff: ${escapeMarkdown(diff.from.version)} → ${escapeMarkdown(diff.to.version)}`,
    '',
    `- from: ${escapeMarkdown(diff.from.source)} ` +
      `(commit ${escapeMarkdown(diff.from.git_commit)}, built ${escapeMarkdown(diff.from.build_date)})`,
    `- to: ${escapeMarkdown(diff.to.source)} ` +
      `(commit ${escapeMarkdown(diff.to.git_commit)}, built ${escapeMarkdown(diff.to.build_date)})`,
    ...(diff.same_key
      ? [`- both signed by ${escapeMarkdown(diff.to.signed_by)}`]
      : [
          `- **signed by another key**: ${escapeMarkdown(diff.from.signed_by)} (from) and ` +
            `${escapeMarkdown(diff.to.signed_by)} (to); check that both are keys you trust`,
        ]),
    `- ${changeCount(diff)} changes`,
  ];
  for (const section of diff.sections) {
    lines.push('', `## ${section.title}`, '');
    if (!section.changes.length) {
      lines.push('No changes.');
      continue;
    }
    let scope: string | undefined;
    for (const change of section.changes) {
      if (change.scope !== scope) {
        if (scope !== undefined) lines.push('');
        scope = change.scope;
        lines.push(`### ${escapeMarkdown(scope)}`, '');
      }
      lines.push(changeLine(change), ...(change.details ?? []).map((d) => `  - ${escapeMarkdown(d)}`));
    }
  }
  return lines.join('\n') + '\n';
}

function changeLine(change: Change): string {
  return `- **${change.change}** ${escapeMarkdown(change.subject)}`;
}

/** Backslash-escapes what Markdown would read as markup or HTML (names may hold any of it). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]<>|~&]/g, (c) => `\\${c}`);
}
