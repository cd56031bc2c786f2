import { closeSync, openSync, writeSync } from 'node:fs';

/** JSON with keys sorted at every level, two-space indent and a trailing newline. */
export function stableJson(value: unknown): string {
  let text = '';
  writeJson(value, '', (piece) => (text += piece));
  return text + '\n';
}

/** Flushed in pieces of about this many characters: a fragment of 40,000 files is 15 MB of JSON. */
const WRITE_PIECE = 1 << 16;

/** Writes `stableJson(value)` to `file` as it is produced, so that memory holds a piece of it, not all. */
export function writeStableJson(file: string, value: unknown): void {
  const fd = openSync(file, 'w', 0o644);
  try {
    let pending = '';
    writeJson(value, '', (piece) => {
      pending += piece;
      if (pending.length >= WRITE_PIECE) {
        writeSync(fd, pending);
        pending = '';
      }
    });
    writeSync(fd, pending + '\n');
  } finally {
    closeSync(fd);
  }
}

/** What JSON.stringify(value, null, 2) writes, with object keys in bytewise order and undefined members left out. */
function writeJson(value: unknown, indent: string, put: (piece: string) => void): void {
  if (Array.isArray(value)) {
    if (value.length === 0) return put('[]');
    const inner = indent + '  ';
    value.forEach((item, i) => {
      put(i === 0 ? `[\n${inner}` : `,\n${inner}`);
      writeJson(item ?? null, inner, put);
    });
    return put(`\n${indent}]`);
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort(compareBytes);
    if (keys.length === 0) return put('{}');
    const inner = indent + '  ';
    keys.forEach((key, i) => {
      put(`${i === 0 ? '{' : ','}\n${inner}${JSON.stringify(key)}: `);
      writeJson(record[key], inner, put);
    });
    return put(`\n${indent}}`);
  }
  put(JSON.stringify(value));
}

/**
 * Bytewise (UTF-8) order, as `LC_ALL=C sort` and the determinism rules use, without encoding:
 * UTF-16 code units sort as UTF-8 bytes do, except that a surrogate (half of a character above
 * U+FFFF) sorts after every other code unit in UTF-8 and before U+E000–U+FFFF in UTF-16.
 */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
