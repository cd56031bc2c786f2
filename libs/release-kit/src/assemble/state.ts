import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArchiveLayout } from '../archive/archive-writer';

/**
 * What the last assembly wrote, so that the next one can tell in milliseconds that nothing
 * changed, and reuse unchanged files of the previous package instead of copying them again.
 * Nx does not cache release:assemble: it would copy and re-hash the multi-GB archives on every
 * run, and the join is cheap once the sections are cached.
 */
export const STATE_FILE = '.assemble-state.json';

export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
  mode: number;
}

export interface AssembleState {
  /** SHA-256 of everything the outputs are made of. */
  key: string;
  /** The package folder's files: their content hash and what stat said when they were written. */
  files: Record<string, FileStamp & { sha256: string }>;
  /** The archives and the public key beside the folder. */
  outputs: Record<string, FileStamp>;
  /** Where each section lies in each archive. */
  layouts?: Record<string, ArchiveLayout>;
  /** The archives before these, kept as spares: as they were written, and their layouts. */
  spares?: Record<string, FileStamp & { layout: ArchiveLayout }>;
}

/** What lstat says of `path`: a symlink put where a file was is not that file. */
export function stamp(path: string): FileStamp | undefined {
  try {
    const s = lstatSync(path);
    return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, mode: s.mode & 0o7777 };
  } catch {
    return undefined;
  }
}

export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return !!a && !!b && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.mode === b.mode;
}

export function readState(outputDir: string): AssembleState | undefined {
  const file = join(outputDir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export function writeState(outputDir: string, state: AssembleState): void {
  // Compact: nobody reads it but the next assembly, and 20,000 files make 4 MB of indented JSON.
  writeFileSync(join(outputDir, STATE_FILE), JSON.stringify(state));
}

/** True when every output is still exactly as the last assembly with this key left it. */
export function isUpToDate(state: AssembleState | undefined, key: string, outputDir: string, packageDir: string): boolean {
  if (!state || state.key !== key) return false;
  for (const [name, recorded] of Object.entries(state.outputs)) if (!sameStamp(stamp(join(outputDir, name)), recorded)) return false;
  for (const [path, recorded] of Object.entries(state.files)) if (!sameStamp(stamp(join(packageDir, path)), recorded)) return false;
  return true;
}

/**
 * A file of the previous package that may be linked into the next one: same content and mode,
 * untouched since. Its stamp stays valid for the link, which shares its inode.
 */
export function reusableFile(
  state: AssembleState | undefined,
  packageDir: string,
  path: string,
  sha256: string,
  mode: number,
): { file: string; stamp: FileStamp } | undefined {
  const recorded = state?.files[path];
  if (!recorded || recorded.sha256 !== sha256 || recorded.mode !== mode) return undefined;
  const file = join(packageDir, path);
  const now = stamp(file);
  return now && sameStamp(now, recorded) ? { file, stamp: now } : undefined;
}
