import { isDeepStrictEqual } from 'node:util';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { parseJsonText } from '@spacetime/release-kit/src/support/yaml-file';

/**
 * Appends `value` to the top-level string array `key` of a JSON document, changing nothing
 * else of the text (hand-written formatting, key order, one-line arrays stay as they are).
 * Returns the text unchanged when the array already holds the value. Falls back to a
 * 2-space re-serialisation only when the array cannot be located textually.
 */
export function appendToJsonArray(text: string, key: string, value: string, file: string): string {
  const doc = parseJsonText(text, file) as Record<string, unknown>;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ReleaseError('is not a JSON object', { file });
  const current = doc[key] ?? [];
  if (!Array.isArray(current) || current.some((v) => typeof v !== 'string'))
    throw new ReleaseError(`"${key}" is not an array of strings`, { file });
  if (current.includes(value)) return text;
  const expected = { ...doc, [key]: [...current, value] };

  const pattern = new RegExp(`("${escapeRegExp(key)}"\\s*:\\s*)\\[([^\\[\\]]*)\\]`, 'g');
  const matches = [...text.matchAll(pattern)];
  if (matches.length === 1 && key in doc) {
    const match = matches[0];
    const body = match[2];
    const items = [...current, value].map((v) => JSON.stringify(v));
    let array: string;
    if (!body.includes('\n')) {
      array = `[${items.join(', ')}]`;
    } else {
      const itemIndent = /\n([ \t]*)\S/.exec(body)?.[1] ?? '  ';
      const closeIndent = /\n([ \t]*)$/.exec(body)?.[1] ?? '';
      array = `[\n${items.map((i) => `${itemIndent}${i}`).join(',\n')}\n${closeIndent}]`;
    }
    const edited = text.slice(0, match.index!) + match[1] + array + text.slice(match.index! + match[0].length);
    if (isDeepStrictEqual(JSON.parse(edited), expected)) return edited;
  }
  return `${JSON.stringify(expected, null, 2)}\n`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The top-level string array `key` of a JSON document ([] when absent). */
export function readJsonArray(text: string, key: string, file: string): string[] {
  const doc = parseJsonText(text, file) as Record<string, unknown>;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ReleaseError('is not a JSON object', { file });
  const value = doc[key] ?? [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new ReleaseError(`"${key}" is not an array of strings`, { file });
  return value;
}
