import { constants } from 'node:zlib';

/** One deflate setting for every archive piece: the bytes depend on it. */
export const DEFLATE_LEVEL = 6;

export function deflateOptions() {
  return { level: DEFLATE_LEVEL, memLevel: 8, windowBits: 15, strategy: constants.Z_DEFAULT_STRATEGY };
}
