import { DiffStyle, renderDiff } from './diff-document';
import { ReleaseDiff } from './release-diff';

const TEXT: DiffStyle = {
  name: printable,
  code: printable,
  title: (text) => [text, '='.repeat([...text].length)],
  fact: (text) => `  ${text}`,
  warning: (text) => text.toUpperCase(),
  heading: (text) => ['', text, '-'.repeat([...text].length)],
  scope: (text) => [`  ${text}`],
  change: (change, subject) => `    ${change.padEnd(8)}${subject}`,
  detail: (text) => `              ${text}`,
  noChanges: '  No changes.',
};

/** The release diff as plain text, for a terminal: names as they are, without Markdown's escapes. */
export function diffText(diff: ReleaseDiff): string {
  return renderDiff(diff, TEXT);
}

/**
 * A name as a terminal shows it: control characters (an escape sequence could rewrite the screen)
 * and the marks that reorder text (bidirectional overrides) are written as `\u{1b}`.
 */
export function printable(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}
