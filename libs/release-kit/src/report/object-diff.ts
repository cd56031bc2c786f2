/** One changed leaf or subtree of a parsed YAML/JSON document. */
export interface PathChange {
  /** `spec.template.spec.containers[name=spacetime-vr].image` */
  path: string;
  before?: unknown;
  after?: unknown;
}

type Node = unknown;

/**
 * The changes from `before` to `after`, path by path. Lists of objects that all have a `name`
 * (containers, ports, env) are matched by name, so an insertion is one change, not a shift of
 * every later element; other lists are compared by index.
 */
export function objectDiff(before: Node, after: Node, path = ''): PathChange[] {
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => changeAt(before[k], after[k], path ? `${path}.${k}` : k, k in before, k in after));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    if (namedList(before) && namedList(after)) {
      const b = new Map(before.map((e) => [e.name as string, e]));
      const a = new Map(after.map((e) => [e.name as string, e]));
      const names = [...new Set([...b.keys(), ...a.keys()])];
      return names.flatMap((n) => changeAt(b.get(n), a.get(n), `${path}[name=${n}]`, b.has(n), a.has(n)));
    }
    const length = Math.max(before.length, after.length);
    return Array.from({ length }, (_, i) => changeAt(before[i], after[i], `${path}[${i}]`, i < before.length, i < after.length)).flat();
  }
  return sameValue(before, after) ? [] : [{ path, before, after }];
}

function changeAt(before: Node, after: Node, path: string, inBefore: boolean, inAfter: boolean): PathChange[] {
  if (!inBefore) return [{ path, after }];
  if (!inAfter) return [{ path, before }];
  return objectDiff(before, after, path);
}

function isRecord(v: Node): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function namedList(list: unknown[]): list is Array<Record<string, unknown>> {
  const names = list.map((e) => (isRecord(e) && typeof e.name === 'string' ? e.name : undefined));
  return list.length > 0 && names.every((n) => n !== undefined) && new Set(names).size === names.length;
}

function sameValue(a: Node, b: Node): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const MAX_VALUE = 80;

/**
 * `spec.replicas: 3 → 5`, `metadata.labels.tier: added "game"`, `spec.paused: removed`. Values
 * are JSON, cut at `maxValue` characters.
 */
export function formatPathChange(change: PathChange, hideValues = false, maxValue = MAX_VALUE): string {
  const show = (v: unknown) => (hideValues ? '(value hidden)' : compact(v, maxValue));
  if (!('before' in change) || change.before === undefined) return `${change.path}: added ${show(change.after)}`;
  if (!('after' in change) || change.after === undefined) return `${change.path}: removed`;
  return hideValues ? `${change.path}: changed (value hidden)` : `${change.path}: ${show(change.before)} → ${show(change.after)}`;
}

function compact(value: unknown, maxValue: number): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > maxValue ? `${text.slice(0, maxValue - 1)}…` : text;
}
