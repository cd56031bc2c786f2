import { Change } from './change';
import { changeCount, DIFFERS, ReleaseDiff } from './release-diff';

/** How one output form writes the parts of a release diff; every name from a package goes through `name` or `code`. */
export interface DiffStyle {
  /** A name as it is in a package (a path, an object, a key) made safe for this form. */
  name(text: string): string;
  /** An identifier (an environment key). */
  code(text: string): string;
  title(text: string): string[];
  /** One line of the facts under the title. */
  fact(text: string): string;
  /** What a reviewer must not miss, in a fact. */
  warning(text: string): string;
  heading(text: string): string[];
  scope(text: string): string[];
  change(change: Change['change'], subject: string): string;
  detail(text: string): string;
  noChanges: string;
}

/** Kinds whose subjects are identifiers. */
const CODE_SUBJECTS = new Set(DIFFERS.filter((d) => d.codeSubjects).map((d) => d.id));

/** The release diff in a style: the facts of both packages, then one heading per kind, one sub-heading per scope, one line per change. */
export function renderDiff(diff: ReleaseDiff, style: DiffStyle): string {
  const n = style.name;
  const built = (p: ReleaseDiff['from']) => `${n(p.source)} (commit ${n(p.git_commit)}, built ${n(p.build_date)})`;
  const lines = [
    ...style.title(`Release diff: ${n(diff.from.version)} → ${n(diff.to.version)}`),
    style.fact(`from: ${built(diff.from)}`),
    style.fact(`to: ${built(diff.to)}`),
    style.fact(
      diff.same_key
        ? `both signed by ${n(diff.to.signed_by)}`
        : `${style.warning('signed by another key')}: ${n(diff.from.signed_by)} (from) and ${n(diff.to.signed_by)} (to); ` +
            'check that both are keys you trust',
    ),
    style.fact(`${changeCount(diff)} changes`),
  ];
  for (const section of diff.sections) {
    lines.push(...style.heading(section.title));
    if (!section.changes.length) {
      lines.push(style.noChanges);
      continue;
    }
    const subject = CODE_SUBJECTS.has(section.id) ? style.code : n;
    let scope: string | undefined;
    for (const change of section.changes) {
      if (change.scope !== scope) {
        if (scope !== undefined) lines.push('');
        scope = change.scope;
        lines.push(...style.scope(n(scope)));
      }
      lines.push(style.change(change.change, subject(change.subject)), ...(change.details ?? []).map((d) => style.detail(n(d))));
    }
  }
  return lines.join('\n') + '\n';
}
