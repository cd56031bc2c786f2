import { renameSync, writeFileSync } from 'node:fs';
import { partialPathFor } from './move-into-place';

/** Writes a file under a temporary name beside it and renames it into place; returns its path. */
export function writeAtomically(file: string, data: string | Buffer): string {
  const partial = partialPathFor(file);
  writeFileSync(partial, data);
  renameSync(partial, file);
  return file;
}
