import { constants } from 'node:zlib';

/**
 * One deflate setting for every archive piece: the bytes depend on it. Level 4, not zlib's default
 * 6: on the Godot 3 server binary it deflates 1.8x faster for 2% more bytes, and on repetitive
 * machine code level 6's longer match search costs up to 10x (tools/bench measures both).
 */
export const DEFLATE_LEVEL = 4;

export function deflateOptions() {
  return { level: DEFLATE_LEVEL, memLevel: 8, windowBits: 15, strategy: constants.Z_DEFAULT_STRATEGY };
}
