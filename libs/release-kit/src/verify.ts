import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Parser, ReadEntry } from 'tar';
import * as yauzl from 'yauzl';
import { parseSha256Sums } from './checksums';
import { packageFolderName, ROOT_FILES, UNCHECKSUMMED, UNMANIFESTED } from './layout';
import { Manifest, octalMode } from './manifest';
import { verifySignature } from './signing';
import { compareBytes } from './stable-json';

export interface VerifyOptions {
  packageDir: string;
  /** Section folders the package must hold. */
  sections: string[];
  publicKeyFile: string;
  tarGz?: string;
  zip?: string;
}

export interface VerifyReport {
  failures: string[];
  files: number;
  version?: string;
  fingerprint?: string;
}

interface FileFacts {
  size: number;
  sha256: string;
  mode: number;
}

/**
 * Checks a built package as a recipient would: layout, every checksum, the signature, MANIFEST.json
 * against the files, and that both archives hold exactly the folder's bytes and modes.
 */
export async function verifyRelease(options: VerifyOptions): Promise<VerifyReport> {
  const failures: string[] = [];
  const fail = (line: string) => failures.push(line);
  const dir = options.packageDir;
  if (!existsSync(dir)) return { failures: [`${dir}: the package folder does not exist (run release:assemble first)`], files: 0 };

  for (const section of options.sections) if (!isDirectory(join(dir, section))) fail(`layout: the section folder ${section}/ is missing`);
  for (const file of Object.values(ROOT_FILES)) if (!existsSync(join(dir, file))) fail(`layout: ${file} is missing`);

  const files = await readFolder(dir, fail);
  const report: VerifyReport = { failures, files: files.size };

  const sumsText = readText(join(dir, ROOT_FILES.checksums));
  if (sumsText !== undefined) {
    try {
      const listed = parseSha256Sums(sumsText, ROOT_FILES.checksums);
      const seen = new Set<string>();
      for (const { path, sha256 } of listed) {
        seen.add(path);
        const facts = files.get(path);
        if (!facts) fail(`SHA256SUMS: ./${path} is listed but missing`);
        else if (facts.sha256 !== sha256) fail(`SHA256SUMS: ./${path} does not match its checksum`);
      }
      for (const path of files.keys()) if (!UNCHECKSUMMED.has(path) && !seen.has(path)) fail(`SHA256SUMS: ./${path} is not listed`);
    } catch (e) {
      fail((e as Error).message);
    }
    const signatureText = readText(join(dir, ROOT_FILES.signature));
    const publicKey = readText(options.publicKeyFile);
    if (signatureText === undefined) fail('signature: SHA256SUMS.asc is missing');
    else if (publicKey === undefined) fail(`signature: the public key ${options.publicKeyFile} is missing`);
    else {
      const result = await verifySignature(Buffer.from(sumsText), signatureText, publicKey);
      if (!result.valid) fail(`signature: SHA256SUMS.asc is not a valid signature of SHA256SUMS by ${basename(options.publicKeyFile)} (${result.reason})`);
      report.fingerprint = result.fingerprint;
    }
  }

  const manifestText = readText(join(dir, ROOT_FILES.manifest));
  if (manifestText !== undefined) checkManifest(manifestText, dir, files, fail, report);

  if (options.tarGz) await compareArchive('tar.gz', options.tarGz, await tarGzContents(options.tarGz, fail), basename(dir), files, fail);
  if (options.zip) await compareArchive('zip', options.zip, await zipContents(options.zip, fail), basename(dir), files, fail);
  return report;
}

function checkManifest(text: string, dir: string, files: Map<string, FileFacts>, fail: (l: string) => void, report: VerifyReport): void {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text);
  } catch {
    fail('MANIFEST.json: not valid JSON');
    return;
  }
  report.version = manifest.version;
  if (basename(dir) !== packageFolderName(manifest.version)) fail(`MANIFEST.json: version ${manifest.version} does not match the folder name ${basename(dir)}`);
  const listed = new Map((manifest.files ?? []).map((f) => [f.path, f]));
  for (const [path, entry] of listed) {
    const facts = files.get(path);
    if (!facts) fail(`MANIFEST.json: ${path} is listed but missing`);
    else if (facts.size !== entry.size || facts.sha256 !== entry.sha256) fail(`MANIFEST.json: ${path} differs from its size or sha256`);
    else if (octalMode(facts.mode) !== entry.mode) fail(`MANIFEST.json: ${path} has mode ${octalMode(facts.mode)}, the manifest says ${entry.mode}`);
  }
  for (const path of files.keys()) if (!UNMANIFESTED.has(path) && !listed.has(path)) fail(`MANIFEST.json: ${path} is not listed`);
}

async function readFolder(dir: string, fail: (l: string) => void): Promise<Map<string, FileFacts>> {
  const files = new Map<string, FileFacts>();
  const visit = async (folder: string, rel: string) => {
    for (const name of readdirSync(folder).sort(compareBytes)) {
      const path = rel ? `${rel}/${name}` : name;
      const stat = lstatSync(join(folder, name));
      if (stat.isDirectory()) await visit(join(folder, name), path);
      else if (stat.isFile()) files.set(path, { size: stat.size, mode: stat.mode & 0o7777, sha256: await hashFile(join(folder, name)) });
      else fail(`layout: ${path} is not a regular file`);
    }
  };
  await visit(dir, '');
  return files;
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

type ArchiveContents = Map<string, FileFacts & { directory: boolean }>;

async function compareArchive(kind: string, archive: string, contents: ArchiveContents | undefined, top: string, files: Map<string, FileFacts>, fail: (l: string) => void) {
  if (!contents) return;
  const prefix = `${top}/`;
  const inArchive = new Set<string>();
  for (const [name, entry] of contents) {
    if (entry.directory) continue;
    if (!name.startsWith(prefix)) {
      fail(`${kind}: ${name} is outside ${prefix}`);
      continue;
    }
    const path = name.slice(prefix.length);
    inArchive.add(path);
    const facts = files.get(path);
    if (!facts) fail(`${kind}: ${path} is not in the package folder`);
    else if (facts.sha256 !== entry.sha256) fail(`${kind}: ${path} differs from the package folder`);
    else if (facts.mode !== entry.mode) fail(`${kind}: ${path} has mode ${octalMode(entry.mode)}, the folder has ${octalMode(facts.mode)}`);
  }
  for (const path of files.keys()) if (!inArchive.has(path)) fail(`${kind}: ${path} is missing from ${basename(archive)}`);
}

async function tarGzContents(archive: string, fail: (l: string) => void): Promise<ArchiveContents | undefined> {
  if (!existsSync(archive)) {
    fail(`tar.gz: ${archive} is missing`);
    return undefined;
  }
  const contents: ArchiveContents = new Map();
  try {
    await new Promise<void>((resolve, reject) => {
      const parser = new Parser({ strict: true, onwarn: (_code: string, message: string) => reject(new Error(message)) } as never);
      parser.on('entry', (entry: ReadEntry) => {
        const hash = createHash('sha256');
        entry.on('data', (chunk: Buffer) => hash.update(chunk));
        entry.on('end', () => {
          if (contents.has(entry.path)) fail(`tar.gz: ${entry.path} appears twice`);
          const directory = entry.type === 'Directory';
          if (!directory && entry.type !== 'File') fail(`tar.gz: ${entry.path} is a ${entry.type}, not a file or folder`);
          contents.set(entry.path, { directory, size: entry.size ?? 0, mode: (entry.mode ?? 0) & 0o7777, sha256: hash.digest('hex') });
        });
      });
      parser.on('error', reject);
      parser.on('close', () => resolve());
      createReadStream(archive).on('error', reject).pipe(parser as never);
    });
  } catch (e) {
    fail(`tar.gz: ${basename(archive)} cannot be read: ${(e as Error).message}`);
    return undefined;
  }
  return contents;
}

async function zipContents(archive: string, fail: (l: string) => void): Promise<ArchiveContents | undefined> {
  if (!existsSync(archive)) {
    fail(`zip: ${archive} is missing`);
    return undefined;
  }
  const contents: ArchiveContents = new Map();
  try {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(archive, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (e, z) => (e ? reject(e) : resolve(z!))));
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = entry.fileName.replace(/\/$/, '');
        const directory = entry.fileName.endsWith('/');
        if (contents.has(name)) fail(`zip: ${name} appears twice`);
        const mode = (entry.externalFileAttributes >>> 16) & 0o7777;
        if (directory) {
          contents.set(name, { directory, size: 0, mode, sha256: '' });
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const hash = createHash('sha256');
          stream!.on('data', (chunk: Buffer) => hash.update(chunk));
          stream!.on('error', reject);
          stream!.on('end', () => {
            contents.set(name, { directory, size: entry.uncompressedSize, mode, sha256: hash.digest('hex') });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  } catch (e) {
    fail(`zip: ${basename(archive)} cannot be read: ${(e as Error).message}`);
    return undefined;
  }
  return contents;
}

function isDirectory(path: string): boolean {
  return existsSync(path) && lstatSync(path).isDirectory();
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
