import { createHash } from 'node:crypto';
import { createReadStream, renameSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { DEFLATE_CHUNK } from '../archive/parallel-deflate';
import { TAR_END, tarHeader, tarPadding } from '../archive/tar-header';
import { compareBytes } from '../support/stable-json';
import { GzipMemberWriter } from '../archive/gzip-member';
import { Descriptor, MEDIA_TYPES, OciLayout } from './oci-layout';

/**
 * One image layer from files, by the determinism rules: a tar of the files and every folder above
 * them, sorted bytewise, one mtime (SOURCE_DATE_EPOCH), owner 0:0 with no names, folders 0755,
 * written by the archive layer's tar writer; gzip with a fixed header, deflated in parallel 1 MiB
 * chunks whose bytes do not depend on timing. Its diff ID is the SHA-256 of the tar, its digest
 * the SHA-256 of the gzip.
 */

export interface LayerFile {
  /** Absolute path in the image. */
  path: string;
  /** The file it is read from. */
  source: string;
  mode: number;
}

/** A file of a layer as the image SBOM lists it. */
export interface LayerContent {
  path: string;
  size: number;
  sha256: string;
  mode: number;
}

export interface WrittenLayer {
  descriptor: Descriptor;
  diffId: string;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  files: LayerContent[];
}

export async function writeLayer(layout: OciLayout, files: LayerFile[], mtime: number): Promise<WrittenLayer> {
  const byPath = new Map(files.map((f) => [f.path.replace(/^\/+/, ''), f]));
  const folders = new Set<string>();
  for (const path of byPath.keys()) for (let d = posix.dirname(path); d !== '.'; d = posix.dirname(d)) folders.add(d);
  const entries = [...[...folders].map((path) => ({ path, file: undefined })), ...[...byPath].map(([path, file]) => ({ path, file }))].sort(
    (a, b) => compareBytes(a.path, b.path),
  );

  const partial = layout.partialBlob('layer');
  const gzip = new GzipMemberWriter(partial);
  const tarHash = createHash('sha256');
  const add = (data: Buffer) => {
    tarHash.update(data);
    return gzip.deflate(data);
  };
  const contents: LayerContent[] = [];
  try {
    for (const { path, file } of entries) {
      if (!file) {
        await add(tarHeader({ path, type: 'directory', size: 0, mode: 0o755, mtime }));
        continue;
      }
      const size = statSync(file.source).size;
      await add(tarHeader({ path, type: 'file', size, mode: file.mode, mtime }));
      const hash = createHash('sha256');
      let read = 0;
      for await (const chunk of createReadStream(file.source, { highWaterMark: DEFLATE_CHUNK }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        read += chunk.length;
        await add(chunk);
      }
      if (read !== size) throw new Error(`${file.source} changed while it was read into the layer`);
      await add(tarPadding(size));
      contents.push({ path: `/${path}`, size, sha256: hash.digest('hex'), mode: file.mode });
    }
    await add(TAR_END);
    const blob = await gzip.finish();
    const digest = `sha256:${blob.sha256}`;
    renameSync(partial, layout.blobPath(digest));
    return {
      descriptor: { mediaType: MEDIA_TYPES.layerGzip, digest, size: blob.size },
      diffId: `sha256:${tarHash.digest('hex')}`,
      tarSize: blob.dataSize,
      files: contents,
    };
  } finally {
    gzip.close();
  }
}
