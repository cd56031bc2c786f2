import { TAR_BLOCK, tarHeader } from '../archive/tar-header';

/** The ustar header's fields: name, offset, length. */
const FIELDS: Array<[string, number, number]> = [
  ['name', 0, 100],
  ['mode', 100, 8],
  ['uid', 108, 8],
  ['gid', 116, 8],
  ['size', 124, 12],
  ['mtime', 136, 12],
  ['checksum', 148, 8],
  ['type flag', 156, 1],
  ['link name', 157, 100],
  ['magic', 257, 6],
  ['version', 263, 2],
  ['owner name', 265, 32],
  ['group name', 297, 32],
  ['device major', 329, 8],
  ['device minor', 337, 8],
  ['prefix', 345, 155],
  ['padding', 500, 12],
];

/** The largest PAX header body the verifier reads: the assembler's holds one path (at most 4096 bytes) and a size. */
export const MAX_PAX_BYTES = 16 << 10;

export interface DecodedHeader {
  /** The path as ustar gives it (prefix/name), or as the PAX header before it gives it. */
  path: string;
  type: string;
  /** NaN when the field holds no number. */
  size: number;
  mode: number;
  mtime: number;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function text(block: Buffer, at: number, length: number): string {
  const field = block.subarray(at, at + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** An octal field (NUL- or space-terminated), or a base-256 one (high bit set); NaN when neither. */
function number(block: Buffer, at: number, length: number): number {
  const field = block.subarray(at, at + length);
  if (field[0] & 0x80) {
    if (field[0] !== 0x80) return NaN;
    let value = 0;
    for (let i = 1; i < length; i++) value = value * 256 + field[i];
    return Number.isSafeInteger(value) ? value : NaN;
  }
  const digits = field
    .toString('latin1')
    .replace(/^ +/, '')
    .replace(/[\0 ]+$/, '');
  return /^[0-7]{1,12}$/.test(digits) ? parseInt(digits, 8) : NaN;
}

/** Whether the header's checksum field holds the sum of its bytes (the field itself counted as spaces). */
export function checksumHolds(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return number(block, 148, 8) === sum;
}

export function decodeHeader(block: Buffer): DecodedHeader {
  const name = text(block, 0, 100);
  const prefix = text(block, 345, 155);
  return {
    path: prefix ? `${prefix}/${name}` : name,
    type: String.fromCharCode(block[156]),
    size: number(block, 124, 12),
    mode: number(block, 100, 8),
    mtime: number(block, 136, 12),
  };
}

/**
 * The records of the one PAX header form the assembler writes (`path`, and `size` when it does
 * not fit ustar); a record of another key, or a malformed one, is named in `problems`.
 */
export function parsePax(body: Buffer): { path?: string; size?: number; keys: string[]; problems: string[] } {
  const result: { path?: string; size?: number; keys: string[]; problems: string[] } = { keys: [], problems: [] };
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const space = body.indexOf(0x20, at);
    const length = space > at ? Number(body.subarray(at, space).toString('latin1')) : NaN;
    if (!Number.isSafeInteger(length) || length <= space - at || at + length > body.length || body[at + length - 1] !== 0x0a) {
      result.problems.push('a malformed PAX record');
      return result;
    }
    const record = body.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    const key = equals < 0 ? record : record.slice(0, equals);
    const value = record.slice(equals + 1);
    result.keys.push(key.slice(0, 40));
    if (key === 'path' && result.path === undefined) result.path = value;
    else if (key === 'size' && result.size === undefined && /^\d+$/.test(value)) result.size = Number(value);
    else result.problems.push(`a PAX record "${key.slice(0, 40)}"`);
    at += length;
  }
  return result;
}

/**
 * The header blocks the assembler writes for this entry (`tarHeader()`, a PAX header first when the
 * path or size does not fit ustar), or undefined when the decoded facts cannot be written at all.
 */
export function canonicalHeader(path: string, folder: boolean, size: number, mode: number, mtime: number): Buffer | undefined {
  if (![size, mode, mtime].every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  try {
    return tarHeader({ path, type: folder ? 'directory' : 'file', size, mode, mtime });
  } catch {
    return undefined;
  }
}

/** The names of the header fields where `actual` differs from `expected` (both one or more blocks, the ustar block last). */
export function headerDifferences(actual: Buffer, expected: Buffer | undefined): string[] {
  if (!expected) return ['a field the assembler cannot write (a negative or oversized number)'];
  const differences: string[] = [];
  const actualPax = actual.subarray(0, actual.length - TAR_BLOCK);
  const expectedPax = expected.subarray(0, expected.length - TAR_BLOCK);
  if (!actualPax.equals(expectedPax))
    differences.push(actualPax.length && expectedPax.length ? 'PAX header' : actualPax.length ? 'a PAX header' : 'no PAX header');
  const a = actual.subarray(actual.length - TAR_BLOCK);
  const e = expected.subarray(expected.length - TAR_BLOCK);
  for (const [field, at, length] of FIELDS)
    if (field !== 'checksum' && !a.subarray(at, at + length).equals(e.subarray(at, at + length))) differences.push(field);
  if (!differences.length && !a.equals(e)) differences.push('checksum');
  return differences;
}
