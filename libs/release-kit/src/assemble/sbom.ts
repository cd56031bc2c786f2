import { existsSync, readFileSync } from 'node:fs';
import { SectionFragment, Skip } from '../format/fragment';
import { PACKAGE_NAME } from '../format/layout';
import { compareBytes } from '../support/stable-json';
import { cycloneDxBytes, cycloneDxTime } from '../build/cyclonedx';
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

const byRef = (a: Component, b: Component) => compareBytes(a['bom-ref'], b['bom-ref']);

/**
 * The release's CycloneDX 1.5 JSON SBOM: every package file with its SHA-256, the server's
 * container image (when a section recorded one; its own SBOM, when the build wrote one, is an
 * external reference of type "bom"), and the npm packages it was built with
 * (scope `excluded`: build tools, not shipped). Deterministic: sorted keys and components,
 * no time but `buildDate`, and a serialNumber derived from the SHA-256 of the document (made
 * with a placeholder serial of the same length, build/cyclonedx.ts).
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
    const image = metadata?.image as
      | { id?: unknown; tags?: unknown; tarball?: unknown; index?: unknown; builder?: unknown; platforms?: unknown; sbom?: unknown }
      | null
      | undefined;
    if (image && typeof image.id === 'string') {
      // The daemonless build's image is its index (one image per platform); the engine's, one image.
      const version = typeof image.index === 'string' ? image.index : image.id;
      const digest = /^sha256:([0-9a-f]{64})$/.exec(version)?.[1];
      const tags = Array.isArray(image.tags) ? image.tags.filter((t): t is string => typeof t === 'string') : [];
      const platforms = Array.isArray(image.platforms) ? image.platforms.filter((p): p is string => typeof p === 'string') : [];
      const sbom = typeof image.sbom === 'string' ? input.files.find((f) => f.path === `${section}/${image.sbom}`) : undefined;
      images.push({
        'bom-ref': `container:${section}:${version}`,
        type: 'container',
        name: tags[0]?.replace(/:[^:/]*$/, '') ?? `${PACKAGE_NAME}-${section}`,
        version,
        hashes: digest ? [{ alg: 'SHA-256', content: digest }] : undefined,
        properties: [
          { name: 'spacetime:section', value: section },
          ...(typeof image.tarball === 'string' ? [{ name: 'spacetime:image-tarball', value: image.tarball }] : []),
          ...tags.map((t) => ({ name: 'spacetime:image-tag', value: t })),
          ...(typeof image.builder === 'string' ? [{ name: 'spacetime:image-builder', value: image.builder }] : []),
          ...platforms.map((p) => ({ name: 'spacetime:image-platform', value: p })),
        ],
        // The image's own SBOM: the files of its layers and its base image's OS packages, per platform.
        externalReferences: sbom
          ? [
              {
                type: 'bom',
                url: sbom.path,
                comment: 'CycloneDX SBOM of the image, per platform',
                hashes: [{ alg: 'SHA-256', content: sbom.sha256 }],
              },
            ]
          : undefined,
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
      timestamp: cycloneDxTime(input.buildDate),
      tools: { components: tools },
      component: { type: 'application', 'bom-ref': root, name: PACKAGE_NAME, version: input.version },
      properties: input.skipped.map((s) => ({ name: 'spacetime:skipped', value: `${s.artifact}: ${s.reason}` })),
    },
    components,
    dependencies: [{ ref: root, dependsOn: [...files, ...images].map((c) => c['bom-ref']) }],
  };
  return cycloneDxBytes(bom);
}
