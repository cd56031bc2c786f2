import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { compareBytes } from '../support/stable-json';
import { showName } from './entry-name';
import { emptyContents, KEPT_ROOT_FILES, MAX_KEPT_BYTES, PackageContents } from './package-contents';

/**
 * Reads a package folder: every regular file hashed (the root files and the `wanted` ones kept);
 * anything else (a symlink, a device) is a failure.
 */
export async function readPackageFolder(
  dir: string,
  fail: (line: string) => void,
  wanted: (path: string) => boolean = () => false,
): Promise<PackageContents> {
  const contents = emptyContents(basename(dir));
  const visit = async (folder: string, rel: string) => {
    for (const name of readdirSync(folder).sort(compareBytes)) {
      const path = rel ? `${rel}/${name}` : name;
      const stat = lstatSync(join(folder, name));
      if (stat.isDirectory()) {
        contents.folders.add(path);
        await visit(join(folder, name), path);
      } else if (stat.isFile()) {
        const keep = ((!rel && KEPT_ROOT_FILES.has(name)) || wanted(path)) && stat.size <= MAX_KEPT_BYTES;
        const { sha256, data } = await hashFile(join(folder, name), keep);
        contents.files.set(path, { size: stat.size, mode: stat.mode & 0o7777, sha256 });
        if (data) contents.roots.set(path, data);
      } else fail(`layout: ${showName(path)} is not a regular file`);
    }
  };
  await visit(dir, '');
  return contents;
}

async function hashFile(file: string, keep: boolean): Promise<{ sha256: string; data?: Buffer }> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    if (keep) chunks.push(chunk);
  }
  return { sha256: hash.digest('hex'), data: keep ? Buffer.concat(chunks) : undefined };
}
