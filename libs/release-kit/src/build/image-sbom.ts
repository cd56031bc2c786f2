import { cycloneDxBytes, cycloneDxTime } from './cyclonedx';
import type { OciImage } from './oci-image';
import { OsFacts } from './os-packages';
import { platformName } from './platform';

/**
 * The image's own CycloneDX 1.5 SBOM: the index, and for each platform its image with every file
 * of the layers this build wrote (path, SHA-256, the layer that holds it) and the operating
 * system packages of its base image, where the base has a dpkg or apk database. SBOM.cdx.json
 * refers to it (an external reference of type "bom").
 */

export interface ImageSbomInput {
  name: string;
  image: OciImage;
  /** Per platform (`linux/amd64`): what the base image's package databases list. */
  os: Map<string, OsFacts>;
  baseReference: string;
  /** Seconds since 1970: the build date. */
  created: number;
  tags: string[];
}

type Component = Record<string, unknown> & { 'bom-ref': string };

const ociPurl = (name: string, digest: string, qualifiers: Record<string, string | undefined>) => {
  const q = Object.entries(qualifiers)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`);
  return `pkg:oci/${name}@${encodeURIComponent(digest)}${q.length ? `?${q.join('&')}` : ''}`;
};

export function imageSbom(input: ImageSbomInput): Buffer {
  const { image, name } = input;
  const indexRef = `image@${image.index.digest}`;
  const dependencies: Array<{ ref: string; dependsOn: string[] }> = [];
  const platforms: Component[] = image.images.map((built) => {
    const platform = platformName(built.platform);
    const ref = `${platform}@${built.manifest.digest}`;
    const files: Component[] = built.layers.flatMap((layer) =>
      layer.files.map((f) => ({
        'bom-ref': `${platform}:${layer.descriptor.digest}:${f.path}`,
        type: 'file',
        name: f.path,
        hashes: [{ alg: 'SHA-256', content: f.sha256 }],
        properties: [
          { name: 'spacetime:layer', value: layer.descriptor.digest },
          { name: 'spacetime:mode', value: f.mode.toString(8).padStart(4, '0') },
          { name: 'spacetime:size', value: String(f.size) },
        ],
      })),
    );
    const os = input.os.get(platform);
    const system: Component[] = os?.distribution
      ? [
          {
            'bom-ref': `${platform}:os:${os.distribution.id}`,
            type: 'operating-system',
            name: os.distribution.id,
            version: os.distribution.versionId,
            description: os.distribution.name,
          },
        ]
      : [];
    const packages: Component[] = (os?.packages ?? []).map((p) => ({
      'bom-ref': `${platform}:${p.purl}`,
      type: 'library',
      name: p.name,
      version: p.version,
      purl: p.purl,
      properties: [
        { name: 'spacetime:package-database', value: p.database },
        ...(p.source ? [{ name: 'spacetime:source-package', value: p.source }] : []),
        { name: 'spacetime:from-base-image', value: input.baseReference },
      ],
    }));
    const inside = [...files, ...system, ...packages];
    dependencies.push({ ref, dependsOn: inside.map((c) => c['bom-ref']) });
    return {
      'bom-ref': ref,
      type: 'container',
      name,
      version: built.manifest.digest,
      hashes: [{ alg: 'SHA-256', content: built.manifest.digest.slice('sha256:'.length) }],
      purl: ociPurl(name, built.manifest.digest, { arch: built.platform.architecture, os: built.platform.os }),
      properties: [
        { name: 'spacetime:platform', value: platform },
        { name: 'spacetime:config', value: built.config.digest },
        { name: 'spacetime:base-image', value: input.baseReference },
        ...(built.base.manifestDigest ? [{ name: 'spacetime:base-manifest', value: built.base.manifestDigest }] : []),
        ...(os ? os.databases.map((d) => ({ name: 'spacetime:package-database', value: d })) : []),
        ...(os && !os.databases.length ? [{ name: 'spacetime:packages', value: 'the base image has no dpkg or apk database' }] : []),
      ],
      components: inside,
    };
  });
  dependencies.unshift({ ref: indexRef, dependsOn: platforms.map((p) => p['bom-ref']) });
  return cycloneDxBytes({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      timestamp: cycloneDxTime(input.created),
      component: {
        'bom-ref': indexRef,
        type: 'container',
        name,
        version: image.index.digest,
        hashes: [{ alg: 'SHA-256', content: image.index.digest.slice('sha256:'.length) }],
        purl: ociPurl(name, image.index.digest, { tag: input.tags[0] }),
        properties: input.tags.map((t) => ({ name: 'spacetime:image-tag', value: t })),
      },
    },
    components: platforms,
    dependencies,
  });
}
