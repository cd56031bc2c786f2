import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { x as extractTar } from 'tar';
import { TAR_END, tarHeader, tarPadding } from '../archive/tar-header';
import { DIRECTORY_MODE, FILE_MODE } from '../format/determinism';
import { PARTIAL_PREFIX } from '../support/move-into-place';
import { ReleaseError } from '../support/errors';
import { compareBytes } from '../support/stable-json';
import { GzipMemberWriter } from '../archive/gzip-member';
import { OciLayout } from './oci-layout';

/**
 * The image tarball `spacetime-vr-<version>.tar.gz`: one gzip member holding a tar of an OCI image
 * layout (`oci-layout`, `index.json`, `blobs/sha256/*`) and Docker's `manifest.json`, which
 * `docker load` reads on engines that do not read OCI layouts (Docker 20.10). Entries sorted,
 * one mtime, owner 0:0, by the archive layer's tar writer; compressed layers are stored in the
 * gzip stream, not deflated a second time.
 */

export const DOCKER_MANIFEST = 'manifest.json';

/** Docker's `manifest.json`: one image, its config and layers as paths in the tarball, and its tags. */
export function dockerManifest(configDigest: string, layerDigests: string[], repoTags: string[]): Buffer {
  const blob = (digest: string) => `blobs/${digest.replace(':', '/')}`;
  return Buffer.from(JSON.stringify([{ Config: blob(configDigest), RepoTags: repoTags, Layers: layerDigests.map(blob) }]));
}

const GZIP_MAGIC = 0x1f8b;
const ZSTD_MAGIC = 0x28b52ffd;

export async function writeImageTarball(
  layout: OciLayout,
  dockerManifestJson: Buffer,
  file: string,
  mtime: number,
): Promise<{ size: number; sha256: string }> {
  const blobDir = join(layout.dir, 'blobs', 'sha256');
  const blobs = readdirSync(blobDir)
    .filter((name) => !name.startsWith(PARTIAL_PREFIX))
    .sort(compareBytes);
  const out = new GzipMemberWriter(file);
  try {
    for (const dir of ['blobs', 'blobs/sha256'])
      await out.deflate(tarHeader({ path: dir, type: 'directory', size: 0, mode: DIRECTORY_MODE, mtime }));
    for (const name of blobs) {
      const path = join(blobDir, name);
      const size = statSync(path).size;
      await out.deflate(tarHeader({ path: `blobs/sha256/${name}`, type: 'file', size, mode: FILE_MODE, mtime }));
      const compressed = isCompressed(path);
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)
        await (compressed ? out.store(chunk) : out.deflate(chunk));
      await out.deflate(tarPadding(size));
    }
    const top: Array<[string, Buffer]> = [
      ['index.json', readFileSync(join(layout.dir, 'index.json'))],
      [DOCKER_MANIFEST, dockerManifestJson],
      ['oci-layout', readFileSync(join(layout.dir, 'oci-layout'))],
    ];
    for (const [path, data] of top) {
      await out.deflate(tarHeader({ path, type: 'file', size: data.length, mode: FILE_MODE, mtime }));
      await out.deflate(data);
      await out.deflate(tarPadding(data.length));
    }
    await out.deflate(TAR_END);
    const { size, sha256 } = await out.finish();
    return { size, sha256 };
  } finally {
    out.close();
  }
}

function isCompressed(file: string): boolean {
  const head = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    const n = readSync(fd, head, 0, 4, 0);
    return (n >= 2 && head.readUInt16BE(0) === GZIP_MAGIC) || (n === 4 && head.readUInt32BE(0) === ZSTD_MAGIC);
  } finally {
    closeSync(fd);
  }
}

/** Unpacks an image tarball into `dir`; its OCI layout, or an error when it holds none (a `docker save` of the engine path). */
export async function extractImageTarball(tarball: string, dir: string, shown: string): Promise<OciLayout | undefined> {
  mkdirSync(dir, { recursive: true });
  try {
    await extractTar({ file: tarball, cwd: dir, strict: true, preserveOwner: false });
  } catch (e) {
    throw new ReleaseError(`is not a readable image tarball: ${(e as Error).message}`, { file: shown });
  }
  return existsSync(join(dir, 'oci-layout')) ? new OciLayout(dir) : undefined;
}
