import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, ReadEntry } from 'tar';
import * as yauzl from 'yauzl';
import { ReleaseError } from '../support/errors';
import { ROOT_FILES } from '../format/layout';
import { Manifest, ManifestFile } from '../format/manifest';

/** A release package as the diff and the report see it, whatever it was read from. */
export interface ReleasePackage {
  /** Where it was read from, as the user named it. */
  source: string;
  manifest: Manifest;
  /** Package-relative path → what MANIFEST.json says of the file. */
  files: Map<string, ManifestFile>;
  /** Contents of the files the caller asked for (see `wanted`), by package-relative path. */
  contents: Map<string, Buffer>;
}

type PackageFormat = 'folder' | 'tar.gz' | 'zip';

function packageFormat(path: string): PackageFormat {
  if (existsSync(path) && statSync(path).isDirectory()) return 'folder';
  if (/\.(tar\.gz|tgz)$/.test(path)) return 'tar.gz';
  if (path.endsWith('.zip')) return 'zip';
  throw new ReleaseError('not a package folder, .tar.gz or .zip', { file: path });
}

/**
 * Reads MANIFEST.json and the contents of the `wanted` files of a package folder or archive.
 * Archives are streamed: nothing is extracted to disk, and files nobody wants are skipped.
 */
export async function readPackage(path: string, wanted: (path: string) => boolean, source = path): Promise<ReleasePackage> {
  if (!existsSync(path)) throw new ReleaseError('no such package folder or archive', { file: path });
  const format = packageFormat(path);
  const keep = (p: string) => p === ROOT_FILES.manifest || wanted(p);
  const contents =
    format === 'folder' ? readFolder(path, keep) : format === 'zip' ? await readZip(path, keep) : await readTarGz(path, keep);
  const manifestData = contents.get(ROOT_FILES.manifest);
  if (!manifestData) throw new ReleaseError(`${ROOT_FILES.manifest} is missing: not a release package`, { file: path });
  contents.delete(ROOT_FILES.manifest);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(manifestData.toString('utf8'));
  } catch (e) {
    throw new ReleaseError(`${ROOT_FILES.manifest} is not JSON: ${(e as Error).message}`, { file: path });
  }
  if (!Array.isArray(manifest.files) || !manifest.version)
    throw new ReleaseError(`${ROOT_FILES.manifest} has no version or file list`, { file: path });
  const files = new Map(manifest.files.map((f) => [f.path, f]));
  for (const p of contents.keys()) if (!files.has(p)) contents.delete(p);
  return { source, manifest, files, contents };
}

function readFolder(dir: string, keep: (p: string) => boolean): Map<string, Buffer> {
  const contents = new Map<string, Buffer>();
  const manifestFile = join(dir, ROOT_FILES.manifest);
  if (!existsSync(manifestFile)) return contents;
  contents.set(ROOT_FILES.manifest, readFileSync(manifestFile));
  const manifest = JSON.parse(contents.get(ROOT_FILES.manifest)!.toString('utf8')) as Manifest;
  for (const file of manifest.files ?? []) {
    if (keep(file.path) && existsSync(join(dir, file.path))) contents.set(file.path, readFileSync(join(dir, file.path)));
  }
  return contents;
}

/** Archive entries sit under one top folder, `spacetime-vr-v<version>/`. */
function withinTop(entryPath: string): string | undefined {
  const slash = entryPath.indexOf('/');
  return slash < 0 ? undefined : entryPath.slice(slash + 1).replace(/\/$/, '') || undefined;
}

function readTarGz(archive: string, keep: (p: string) => boolean): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => reject(new ReleaseError(`cannot read the archive: ${e.message}`, { file: archive }));
    const parser = new Parser({ strict: true, onwarn: (_code: string, message: string) => fail(new Error(message)) } as never);
    parser.on('entry', (entry: ReadEntry) => {
      const path = withinTop(entry.path);
      if (entry.type !== 'File' || !path || !keep(path)) return entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => contents.set(path, Buffer.concat(chunks)));
    });
    parser.on('error', fail);
    parser.on('close', () => resolve(contents));
    createReadStream(archive)
      .on('error', fail)
      .pipe(parser as never);
  });
}

async function readZip(archive: string, keep: (p: string) => boolean): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  const fail = (e: Error) => new ReleaseError(`cannot read the archive: ${e.message}`, { file: archive });
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(archive, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (e, z) =>
      e ? reject(fail(e)) : resolve(z!),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    zip.on('error', (e: Error) => reject(fail(e)));
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      const path = withinTop(entry.fileName);
      if (entry.fileName.endsWith('/') || !path || !keep(path)) return zip.readEntry();
      zip.openReadStream(entry, (e, stream) => {
        if (e) return reject(fail(e));
        const chunks: Buffer[] = [];
        stream!.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream!.on('error', (err: Error) => reject(fail(err)));
        stream!.on('end', () => {
          contents.set(path, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
  zip.close();
  return contents;
}
