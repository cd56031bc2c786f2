import { createHash } from 'node:crypto';
import { stableJsonBytes } from '../support/stable-json';

/**
 * A CycloneDX JSON document as this build writes every one (the package's SBOM.cdx.json, the
 * image's): stable JSON, and a serialNumber derived from the SHA-256 of the document itself (made
 * with a placeholder serial of the same length), so that the same content gives the same bytes.
 */
export function cycloneDxBytes(bom: Record<string, unknown>): Buffer {
  const bytes = stableJsonBytes({ ...bom, serialNumber: PENDING_SERIAL });
  const serial = `"serialNumber": "${PENDING_SERIAL}"`;
  bytes.write(
    uuidFromSha256(createHash('sha256').update(bytes).digest('hex')),
    bytes.indexOf(serial) + serial.length - PENDING_SERIAL.length - 1,
    'latin1',
  );
  return bytes;
}

/** The serial number the document is hashed with; the hash's own then takes its place (same length). */
const PENDING_SERIAL = 'urn:uuid:00000000-0000-5000-8000-000000000000';

/** urn:uuid with RFC 4122 version/variant bits, from the first 16 bytes of a SHA-256. */
function uuidFromSha256(hex: string): string {
  const b = Buffer.from(hex.slice(0, 32), 'hex');
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The ISO time CycloneDX's timestamp takes, from seconds since 1970. */
export function cycloneDxTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
