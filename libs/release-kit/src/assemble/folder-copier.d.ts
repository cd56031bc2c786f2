/**
 * Files of the package folder to make by copying, each from a workspace file or from a range of a
 * made-files pack. Packed in a few strings and typed arrays rather than one object per file: sent
 * to the worker, 20,000 objects cost it about 20 MiB, this about 3.
 */
export interface CopyBatch {
  /** The package folder. */
  folder: string;
  /** The workspace. */
  root: string;
  /** The made-files packs (absolute paths). */
  packs: string[];
  /** Package-relative paths, joined by "\0". */
  paths: string;
  /** Workspace-relative sources ("" for a file in a pack), joined by "\0". */
  sources: string;
  /** Index of the file's pack in `packs`, or -1. */
  pack: Int32Array;
  /** Where the file starts in its pack. */
  offset: Float64Array;
  size: Float64Array;
  mode: Uint16Array;
  /** The files' SHA-256 digests in hex, one after another. */
  sha256: string;
}

/** Why the copy of file `index` failed: its source could not be opened, its bytes are not those packaged, or another file-system error. */
export type CopyFailure =
  | { index: number; reason: 'missing' | 'changed' }
  | { index: number; error: { code?: string; syscall?: string; path?: string; message: string } };

/** Reads `size` bytes of `input` from `offset` (to its end when null) through a SHA-256, writing them to `output` when given; true when they are exactly `size` bytes with `sha256`. */
export function streamVerified(input: number, offset: number | null, size: number, sha256: string, output?: number): boolean;

/** Makes each file of the batch (written new, checked, then given its mode); stops at the first failure and returns it. */
export function copyFiles(batch: CopyBatch): CopyFailure | undefined;

/** A package folder to scan, with the entries it should hold, each joined by "\0". */
export interface FolderScanRequest {
  folder: string;
  /** Package-relative folders (their parents are wanted too). */
  directories: string;
  /** Package-relative files (their parents are wanted too). */
  files: string;
}

/**
 * Removes every entry of the folder that is not wanted as what it is, and returns what lstat says
 * of each wanted file there: size, mtimeMs, ino and mode, four numbers per file in the order of
 * `files`, NaN for a file not there.
 */
export function scanFolder(request: FolderScanRequest): Float64Array;
