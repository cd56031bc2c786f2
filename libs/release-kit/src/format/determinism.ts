/**
 * The normalisation rules every archive entry and generated file follows (DESIGN.md,
 * "Determinism rules"). Nothing else in the engine decides an mtime, an owner or a mode.
 */

/** 1980-01-01T00:00:00Z: the earliest time a zip DOS timestamp can hold. */
export const DEFAULT_ENTRY_EPOCH = 315532800;

/** The entry mtime: SOURCE_DATE_EPOCH when set, else a constant (never a commit time). */
export function entryEpoch(sourceDateEpoch = process.env.SOURCE_DATE_EPOCH): number {
  if (sourceDateEpoch === undefined || sourceDateEpoch === '') return DEFAULT_ENTRY_EPOCH;
  if (!/^\d+$/.test(sourceDateEpoch)) {
    throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got "${sourceDateEpoch}"`);
  }
  return Math.max(Number(sourceDateEpoch), DEFAULT_ENTRY_EPOCH);
}

export const DIRECTORY_MODE = 0o755;
export const EXECUTABLE_MODE = 0o755;
export const FILE_MODE = 0o644;

/** 0755 for `*.sh` and for files whose owner may execute them in the source tree; 0644 otherwise. */
export function fileMode(archivePath: string, sourceMode: number): number {
  return archivePath.endsWith('.sh') || (sourceMode & 0o100) !== 0 ? EXECUTABLE_MODE : FILE_MODE;
}
