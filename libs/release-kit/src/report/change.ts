import { compareBytes } from '../support/stable-json';
import { ReleasePackage } from './package-reader';

export type ChangeType = 'added' | 'removed' | 'changed';

/** One reported difference between two packages. Never holds a secret's or a template's value. */
export interface Change {
  change: ChangeType;
  /** What the subject belongs to: a section, an environment, an overlay, a rule file. */
  scope: string;
  /** What changed: a path, a key, an object, an alert, a dashboard, a tag. */
  subject: string;
  /** How it changed, one line each (`spec.replicas: 3 → 5`, `size 10 → 12 bytes`). */
  details?: string[];
}

/** One kind of difference: which files it reads and how it compares them. */
export interface Differ {
  id: string;
  title: string;
  /** Package-relative paths whose contents this differ reads (others are never loaded). */
  reads?: RegExp;
  /** Its subjects are identifiers (environment keys): code in Markdown. */
  codeSubjects?: boolean;
  diff(before: ReleasePackage, after: ReleasePackage): Change[];
}

/**
 * Added, removed and changed entries of two keyed collections of one scope. `describe` returns
 * the details of a changed entry, or an empty list when the two are the same.
 */
export function keyedChanges<T>(
  scope: string,
  before: Map<string, T>,
  after: Map<string, T>,
  describe: (b: T, a: T) => string[] = () => [],
): Change[] {
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort(compareBytes);
  return keys.flatMap((subject): Change[] => {
    if (!before.has(subject)) return [{ change: 'added', scope, subject }];
    if (!after.has(subject)) return [{ change: 'removed', scope, subject }];
    const details = describe(before.get(subject)!, after.get(subject)!);
    return details.length ? [{ change: 'changed', scope, subject, details }] : [];
  });
}

/** Groups package-relative paths by a scope taken from each path (undefined: not grouped). */
export function groupBy<T>(items: Iterable<[string, T]>, scopeOf: (path: string) => string | undefined): Map<string, Map<string, T>> {
  const groups = new Map<string, Map<string, T>>();
  for (const [path, item] of items) {
    const scope = scopeOf(path);
    if (scope === undefined) continue;
    if (!groups.has(scope)) groups.set(scope, new Map());
    groups.get(scope)!.set(path, item);
  }
  return groups;
}

/** Changes of every scope either package has, scope by scope in bytewise order. */
export function scopedChanges<T>(
  before: Map<string, Map<string, T>>,
  after: Map<string, Map<string, T>>,
  describe?: (b: T, a: T) => string[],
): Change[] {
  const scopes = [...new Set([...before.keys(), ...after.keys()])].sort(compareBytes);
  return scopes.flatMap((scope) => keyedChanges(scope, before.get(scope) ?? new Map(), after.get(scope) ?? new Map(), describe));
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
