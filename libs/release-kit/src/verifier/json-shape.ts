import { showName } from './entry-name';

/** How a JSON value is named in a failure: its type, and a short rendering of a scalar. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string "${showName(value.slice(0, 60))}"`;
  return `${typeof value} ${String(value)}`;
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** At most this many shape problems are listed one by one; the rest are counted. */
const MAX_LISTED = 20;

/**
 * Collects the shape problems of a JSON document, each naming its field after `label`:
 * `expect` returns whether the value passed its test; `flush` hands them to `fail`, the first
 * MAX_LISTED one by one.
 */
export function shapeChecker(label: string) {
  const problems: string[] = [];
  const problem = (field: string, what: string) => problems.push(`${label}: ${field} ${what}`);
  const expect = (field: string, value: unknown, test: (v: unknown) => boolean, wanted: string) => {
    if (test(value)) return true;
    problem(field, value === undefined ? `is missing (${wanted})` : `is ${describe(value)}, not ${wanted}`);
    return false;
  };
  const flush = (fail: (line: string) => void) => {
    problems.slice(0, MAX_LISTED).forEach(fail);
    if (problems.length > MAX_LISTED) fail(`${label}: ${problems.length - MAX_LISTED} more problems of its shape`);
  };
  return { problems, problem, expect, flush };
}
