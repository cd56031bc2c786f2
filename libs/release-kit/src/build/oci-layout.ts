import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReleaseError } from '../support/errors';
import { partialPathFor } from '../support/move-into-place';
import { stableJson } from '../support/stable-json';
import type { ContainerConfig } from './dockerfile-plan';
import type { Platform } from './platform';

/**
 * The OCI image layout (image-spec's image-layout.md) and the JSON documents it holds: the
 * `oci-layout` marker, `index.json`, and content-addressed blobs under `blobs/sha256/`, each
 * written under a partial name and renamed into place once its digest is checked.
 */

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** Docker's media types of layers and their OCI names: the bytes are the same. */
const LAYER_TYPES: Record<string, string> = {
  'application/vnd.oci.image.layer.v1.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip': MEDIA_TYPES.layerGzip,
  'application/vnd.oci.image.layer.v1.tar+zstd': 'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': MEDIA_TYPES.layerGzip,
};

/** The OCI media type of a layer (Docker's names mapped), or undefined for one this build does not carry (foreign, encrypted). */
export function ociLayerType(mediaType: string): string | undefined {
  return LAYER_TYPES[mediaType];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An image config (image-spec's config.md). */
export interface ImageConfigFile {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** The bytes of a JSON document of the layout: keys sorted, no white space, so that a digest is a function of the content. */
export function ociJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(JSON.parse(stableJson(value))));
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** The hex of a `sha256:` digest; an error naming `where` for anything else. */
export function digestHex(digest: string, where: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new ReleaseError(`"${digest}" is not a sha256 digest`, { file: where });
  return m[1];
}

/** An OCI image layout folder being written, or read. */
export class OciLayout {
  constructor(readonly dir: string) {}

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', digestHex(digest, this.dir));
  }

  /** Where a new blob of `digest` goes, its folder made. */
  blobTarget(digest: string): string {
    mkdirSync(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    return this.blobPath(digest);
  }

  /** A temporary file beside the blobs, for one being written whose digest is not known yet. */
  partialBlob(label: string): string {
    mkdirSync(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    return partialPathFor(join(this.dir, 'blobs', 'sha256', label));
  }

  has(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Stores bytes; returns their descriptor. */
  put(bytes: Buffer, mediaType: string): Descriptor {
    const digest = digestOf(bytes);
    if (!this.has(digest)) {
      const file = this.blobTarget(digest);
      const partial = partialPathFor(file);
      writeFileSync(partial, bytes);
      renameSync(partial, file);
    }
    return { mediaType, digest, size: bytes.length };
  }

  putJson(value: unknown, mediaType: string): Descriptor {
    return this.put(ociJson(value), mediaType);
  }

  /** Adds a file whose digest is known and checked (a base image's blob): linked where it can be, else copied. */
  adopt(file: string, digest: string): void {
    if (this.has(digest)) return;
    const target = this.blobTarget(digest);
    const partial = partialPathFor(target);
    try {
      linkSync(file, partial);
    } catch {
      copyFileSync(file, partial);
    }
    renameSync(partial, target);
  }

  /** A blob's bytes, checked against its digest. */
  read(digest: string, shown: string): Buffer {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.blobPath(digest));
    } catch {
      throw new ReleaseError(`has no blob ${digest}`, { file: shown });
    }
    if (digestOf(bytes) !== digest)
      throw new ReleaseError(`blob ${digest} does not have that digest: the layout is damaged`, { file: shown });
    return bytes;
  }

  size(digest: string): number {
    return statSync(this.blobPath(digest)).size;
  }

  /** Writes `oci-layout` and `index.json` pointing at `manifests`. */
  writeIndex(manifests: Descriptor[]): void {
    writeFileSync(join(this.dir, 'oci-layout'), ociJson({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(this.dir, 'index.json'), ociJson({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests }));
  }

  /** `index.json` of an existing layout. */
  readIndex(shown: string): ImageIndex {
    if (!existsSync(join(this.dir, 'oci-layout')))
      throw new ReleaseError('is not an OCI image layout (it has no oci-layout file)', { file: shown });
    try {
      return JSON.parse(readFileSync(join(this.dir, 'index.json'), 'utf8'));
    } catch (e) {
      throw new ReleaseError(`has no readable index.json: ${(e as Error).message}`, { file: shown });
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
