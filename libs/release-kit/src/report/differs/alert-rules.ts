import { parseYamlText } from '../../support/yaml-file';
import { Differ, scopedChanges } from '../change';
import { formatPathChange, objectDiff, PathChange } from '../object-diff';
import { ReleasePackage } from '../package-reader';

/** Prometheus rule files ship in monitoring/ and config/<environment>/; other YAML there has no `groups`. */
const YAML_FILE = /^(monitoring|config)\/.*\.ya?ml$/;
const RULE_FILE_TEXT = /^groups:/m;

interface Rule {
  alert?: unknown;
  record?: unknown;
  expr?: unknown;
  for?: unknown;
  keep_firing_for?: unknown;
  labels?: unknown;
  annotations?: unknown;
}

/**
 * What an operator reads in a rule, and when two values are the same: an expression that differs
 * only in spacing or comments, or a duration written another way (`120s`, `2m`), is not a change.
 */
const RULE_FIELDS: Array<{ field: keyof Rule; same: (a: unknown, b: unknown) => boolean; maxValue?: number }> = [
  { field: 'expr', same: (a, b) => promqlText(a) === promqlText(b), maxValue: Infinity },
  { field: 'for', same: sameDuration },
  { field: 'keep_firing_for', same: sameDuration },
];
const MAPS: Array<keyof Rule> = ['labels', 'annotations'];

/**
 * Rules added, removed or changed, per Prometheus rule file: each rule's expression, `for`,
 * `keep_firing_for`, labels and annotations. Tiered alerts share one name, so an alerting rule is
 * its name and severity (`SpaceTimeServerDown (critical)`), a recording rule its series name;
 * a name repeated in one file is numbered in file order (`#2`).
 */
export const alertRulesDiffer: Differ = {
  id: 'alert-rules',
  title: 'Alert rules',
  reads: YAML_FILE,
  diff: (before, after) => scopedChanges(rulesByFile(before), rulesByFile(after), describeRule),
};

function describeRule(b: Rule, a: Rule): string[] {
  return [
    ...RULE_FIELDS.flatMap(({ field, same, maxValue }) =>
      same(b[field], a[field]) ? [] : [formatPathChange(fieldChange(field, b[field], a[field]), false, maxValue)],
    ),
    ...MAPS.flatMap((field) => objectDiff(b[field] ?? {}, a[field] ?? {}, field).map((c) => formatPathChange(c))),
  ];
}

/** The change of one field, the expression shown on one line. */
function fieldChange(field: keyof Rule, before: unknown, after: unknown): PathChange {
  const shown = (v: unknown) => (field === 'expr' && typeof v === 'string' ? promqlText(v) : v);
  return {
    path: field,
    ...(before === undefined ? {} : { before: shown(before) }),
    ...(after === undefined ? {} : { after: shown(after) }),
  };
}

function rulesByFile(pkg: ReleasePackage): Map<string, Map<string, Rule>> {
  const files = new Map<string, Map<string, Rule>>();
  for (const [path, data] of pkg.contents) {
    const text = data.toString('utf8');
    if (!YAML_FILE.test(path) || !RULE_FILE_TEXT.test(text)) continue;
    const parsed = parseYamlText(text, `${pkg.source}: ${path}`) as { groups?: unknown } | null;
    const groups = Array.isArray(parsed?.groups) ? (parsed.groups as Array<{ rules?: unknown }>) : [];
    const rules = groups.flatMap((g) => (Array.isArray(g?.rules) ? (g.rules as unknown[]) : [])).filter(isRule);
    if (!rules.length) continue;
    const named = new Map<string, Rule>();
    for (const rule of rules) {
      const name = ruleName(rule);
      let key = name;
      for (let n = 2; named.has(key); n++) key = `${name} #${n}`;
      named.set(key, rule);
    }
    files.set(path, named);
  }
  return files;
}

function isRule(rule: unknown): rule is Rule {
  return typeof rule === 'object' && rule !== null && ('alert' in rule || 'record' in rule);
}

function ruleName(rule: Rule): string {
  if (rule.alert === undefined) return `${String(rule.record)} (recording rule)`;
  const severity = (rule.labels as { severity?: unknown } | undefined)?.severity;
  return severity === undefined ? String(rule.alert) : `${String(rule.alert)} (${String(severity)})`;
}

/** A PromQL expression without its comments, with each run of spaces and line breaks outside string literals as one space. */
export function promqlText(expr: unknown): unknown {
  if (typeof expr !== 'string') return expr;
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (quote) {
      out += ch;
      if (ch === '\\' && quote !== '`') out += expr[++i] ?? '';
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      quote = ch;
      out += ch;
    } else if (ch === '#') {
      while (i + 1 < expr.length && expr[i + 1] !== '\n') i++;
    } else if (/\s/.test(ch)) {
      if (!out.endsWith(' ')) out += ' ';
    } else {
      out += ch;
    }
  }
  return out.trim();
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, y: 365 * 86400e3 };

/** A Prometheus duration (`1h30m`, `90s`) in milliseconds; an absent one is 0; undefined when it is not one. */
export function durationMs(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'string' || !/^(\d+(ms|[smhdwy]))+$/.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|[smhdwy])/g)) total += Number(amount) * DURATION_UNITS[unit];
  return total;
}

function sameDuration(a: unknown, b: unknown): boolean {
  const [x, y] = [durationMs(a), durationMs(b)];
  return x !== undefined && y !== undefined ? x === y : JSON.stringify(a) === JSON.stringify(b);
}
