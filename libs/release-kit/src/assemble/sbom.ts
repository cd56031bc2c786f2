import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { SectionFragment, Skip } from '../format/fragment';
import { PACKAGE_NAME } from '../format/layout';
import { compareBytes, stableJsonBytes } from '../support/stable-json';
import { parseJsonText } from '../support/yaml-file';

/** The package root file holding the CycloneDX 1.5 JSON SBOM (listed in MANIFEST.json and SHA256SUMS). */
export const SBOM_FILE = 'SBOM.cdx.json';

/** A file of the package as the SBOM lists it. */
export interface SbomFile {
  path: string;
  sha256: string;
}

/** An npm package of the lock file the release was built with. */
export interface NpmDependency {
  name: string;
  version: string;
  /** Subresource-integrity string from package-lock.json, e.g. `sha512-<base64>`. */
  integrity?: string;
  dev?: boolean;
}

export interface SbomInput {
  version: string;
  /** Seconds since the epoch: the only time in the SBOM. */
  buildDate: number;
  /** Every package file the SBOM describes (section files and root documents). */
  files: SbomFile[];
  fragments: Pick<SectionFragment, 'section' | 'metadata'>[];
  skipped: Skip[];
  npm: NpmDependency[];
  /** Versions of the build tools (MANIFEST.json `tools`). */
  tools?: Record<string, string>;
}

type Hash = { alg: string; content: string };
type Component = Record<string, unknown> & { 'bom-ref': string };

const SRI_ALGORITHMS: Record<string, string> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

/** The npm packages of a lockfile v2/v3 (`packages`), deduplicated by name@version; [] without a lock file. */
export function readNpmLock(lockFile: string, shownAs = lockFile): NpmDependency[] {
  if (!existsSync(lockFile)) return [];
  const lock = parseJsonText(readFileSync(lockFile, 'utf8'), shownAs) as {
    packages?: Record<string, { name?: string; version?: string; integrity?: string; dev?: boolean; link?: boolean }>;
  };
  const found = new Map<string, NpmDependency>();
  for (const [where, entry] of Object.entries(lock.packages ?? {})) {
    if (!where.includes('node_modules/') || entry.link || !entry.version) continue;
    const name = entry.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const key = `${name}@${entry.version}`;
    const previous = found.get(key);
    // A package needed by a runtime dependency anywhere is not a dev-only package.
    found.set(key, {
      name,
      version: entry.version,
      integrity: entry.integrity ?? previous?.integrity,
      dev: Boolean(entry.dev) && (previous?.dev ?? true),
    });
  }
  return [...found.values()];
}

/** Package URL of an npm package: pkg:npm/%40scope/name@version. */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${encodeURIComponent(version)}`;
}

function sriHashes(integrity: string | undefined): Hash[] {
  const hashes: Hash[] = [];
  for (const part of (integrity ?? '').split(/\s+/)) {
    const m = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/=]+)$/.exec(part);
    if (m) hashes.push({ alg: SRI_ALGORITHMS[m[1]], content: Buffer.from(m[2], 'base64').toString('hex') });
  }
  return hashes;
}

/** urn:uuid with RFC 4122 version/variant bits, from the first 16 bytes of a SHA-256. */
function uuidFromSha256(hex: string): string {
  const b = Buffer.from(hex.slice(0, 32), 'hex');
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const byRef = (a: Component, b: Component) => compareBytes(a['bom-ref'], b['bom-ref']);

/**
 * The release's CycloneDX 1.5 JSON SBOM: every package file with its SHA-256, the server's
 * container image (when a section recorded one), and the npm packages it was built with
 * (scope `excluded`: build tools, not shipped). Deterministic: sorted keys and components,
 * no time but `buildDate`, and a serialNumber derived from the SHA-256 of the document (made
 * with a placeholder serial of the same length).
 */
export function buildSbom(input: SbomInput): Buffer {
  const root = `${PACKAGE_NAME}@${input.version}`;
  // Keys in bytewise order, as the document has them: stableJsonBytes then writes these 20,000 objects without copying them.
  const files: Component[] = input.files.map((f) => ({
    'bom-ref': `file:${f.path}`,
    hashes: [{ alg: 'SHA-256', content: f.sha256 }],
    name: f.path,
    type: 'file',
  }));

  const images: Component[] = [];
  const tools: Component[] = [];
  for (const { section, metadata } of input.fragments) {
    const image = metadata?.image as { id?: unknown; tags?: unknown; tarball?: unknown } | null | undefined;
    if (image && typeof image.id === 'string') {
      const digest = /^sha256:([0-9a-f]{64})$/.exec(image.id)?.[1];
      const tags = Array.isArray(image.tags) ? image.tags.filter((t): t is string => typeof t === 'string') : [];
      images.push({
        'bom-ref': `container:${section}:${image.id}`,
        type: 'container',
        name: tags[0]?.replace(/:[^:/]*$/, '') ?? `${PACKAGE_NAME}-${section}`,
        version: image.id,
        hashes: digest ? [{ alg: 'SHA-256', content: digest }] : undefined,
        properties: [
          { name: 'spacetime:section', value: section },
          ...(typeof image.tarball === 'string' ? [{ name: 'spacetime:image-tarball', value: image.tarball }] : []),
          ...tags.map((t) => ({ name: 'spacetime:image-tag', value: t })),
        ],
      });
    }
    const godot = metadata?.godot as { version?: unknown } | null | undefined;
    if (godot && typeof godot.version === 'string')
      tools.push({ type: 'application', name: 'Godot Engine', version: godot.version, 'bom-ref': `tool:godot@${godot.version}` });
  }
  for (const [name, version] of Object.entries(input.tools ?? {}).sort(([a], [b]) => compareBytes(a, b))) {
    tools.push({ type: 'application', name, version, 'bom-ref': `tool:${name}@${version}` });
  }

  const npm: Component[] = [...new Map(input.npm.map((d) => [npmPurl(d.name, d.version), d])).entries()].map(([purl, d]) => {
    const slash = d.name.startsWith('@') ? d.name.indexOf('/') : -1;
    const hashes = sriHashes(d.integrity);
    return {
      'bom-ref': purl,
      type: 'library',
      group: slash > 0 ? d.name.slice(0, slash) : undefined,
      name: slash > 0 ? d.name.slice(slash + 1) : d.name,
      version: d.version,
      purl,
      scope: 'excluded',
      hashes: hashes.length ? hashes : undefined,
      properties: d.dev ? [{ name: 'cdx:npm:package:development', value: 'true' }] : undefined,
    };
  });

  const components = [...files.sort(byRef), ...images.sort(byRef), ...npm.sort(byRef)];
  const bom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      timestamp: new Date(input.buildDate * 1000).toISOString().replace('.000Z', 'Z'),
      tools: { components: tools },
      component: { type: 'application', 'bom-ref': root, name: PACKAGE_NAME, version: input.version },
      properties: input.skipped.map((s) => ({ name: 'spacetime:skipped', value: `${s.artifact}: ${s.reason}` })),
    },
    components,
    dependencies: [{ ref: root, dependsOn: [...files, ...images].map((c) => c['bom-ref']) }],
  };
  const bytes = stableJsonBytes({ ...bom, serialNumber: PENDING_SERIAL });
  const serial = `"serialNumber": "${PENDING_SERIAL}"`;
  bytes.write(
    uuidFromSha256(createHash('sha256').update(bytes).digest('hex')),
    bytes.indexOf(serial) + serial.length - PENDING_SERIAL.length - 1,
    'latin1',
  );
  return bytes;
}

/** The serial number the SBOM is hashed with; the hash's own then takes its place (same length). */
const PENDING_SERIAL = 'urn:uuid:00000000-0000-5000-8000-000000000000';
