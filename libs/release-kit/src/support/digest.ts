import { createHash } from 'node:crypto';

/** The SHA-256 of `data`, in hex. */
export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
