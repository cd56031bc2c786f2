/** A file of the package folder to make by copying: from a file, or from a range of a made-files pack. */
export type CopyJob = { to: string; mode: number; size: number; sha256: string } & ({ from: string; pack?: undefined } | { pack: string; offset: number; from?: undefined });

/** Why a job failed: its source could not be opened, its bytes are not those packaged, or another file-system error. */
export type CopyFailure = { index: number; reason: 'missing' | 'changed' } | { index: number; error: { code?: string; message: string } };

/** Reads `size` bytes of `input` from `offset` (to its end when null) through a SHA-256, writing them to `output` when given; true when they are exactly `size` bytes with `sha256`. */
export function streamVerified(input: number, offset: number | null, size: number, sha256: string, output?: number): boolean;

/** Makes each job's file (written new, checked, then given its mode); stops at the first failure and returns it. */
export function copyFiles(jobs: CopyJob[]): CopyFailure | undefined;

/** Makes `to` a copy of the folder `from` made of hard links: a first build's spare package folder. */
export function linkTree(from: string, to: string): void;
