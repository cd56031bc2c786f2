/** What an archive may hold before the verifier stops reading it (decompression bombs, huge listings). */
export interface ArchiveLimits {
  /** Entries, folders included. */
  maxEntries: number;
  /** Uncompressed bytes of all entries together. */
  maxBytes: number;
  /** Uncompressed to compressed bytes, judged once more than RATIO_FLOOR bytes came out. */
  maxRatio: number;
}

export const DEFAULT_LIMITS: ArchiveLimits = {
  maxEntries: 100_000,
  maxBytes: 64 * 2 ** 30,
  // Deflate reaches about 1030:1 on zeros; real packages (text, binaries, compressed images) stay far below 100:1.
  maxRatio: 200,
};

/** Below this many uncompressed bytes the ratio is not judged: small repetitive files compress very well. */
export const RATIO_FLOOR = 16 << 20;

export function ratioExceeded(uncompressed: number, compressed: number, limits: ArchiveLimits): boolean {
  return uncompressed > RATIO_FLOOR && uncompressed > compressed * limits.maxRatio;
}
