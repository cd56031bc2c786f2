import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compareBytes } from '../support/stable-json';

const ENGINE_SOURCE = join(__dirname, '..');
let digest: string | undefined;

/**
 * SHA-256 of the engine's source (every layer under src/): a release assembled by other code is not up to
 * date, even when every input is the same.
 */
export function engineDigest(): string {
  if (digest) return digest;
  const hash = createHash('sha256');
  const files = (readdirSync(ENGINE_SOURCE, { recursive: true }) as string[]).sort(compareBytes);
  for (const file of files) {
    const path = join(ENGINE_SOURCE, file);
    if (statSync(path).isFile()) hash.update(`${file}\0`).update(readFileSync(path)).update('\0');
  }
  return (digest = hash.digest('hex'));
}
