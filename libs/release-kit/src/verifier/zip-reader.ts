import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import * as yauzl from 'yauzl';
import { ArchiveEntries, EntryKind } from './archive-entries';
import { showName } from './entry-name';
import { ArchiveLimits, ratioExceeded } from './limits';
import { PackageContents } from './package-contents';

const UNIX = 3;
const TYPE_BITS: Record<number, EntryKind> = {
  0o100000: 'file',
  0o040000: 'folder',
  0o120000: 'symlink',
  0o020000: 'device',
  0o060000: 'device',
  0o010000: 'fifo',
  0o140000: 'socket',
};
const DATA_DESCRIPTOR = 0x08;
const ZIP64_SIZE = 0xffffffff;

/**
 * Reads a .zip through its central directory, streaming and hashing each entry in memory. Each
 * local header must agree with the central one (name, method, CRC and sizes), and the inflated
 * data with both (size, CRC-32).
 */
export async function readZip(archive: string, limits: ArchiveLimits, fail: (line: string) => void): Promise<PackageContents | undefined> {
  const entries = new ArchiveEntries(limits, fail);
  let zip: yauzl.ZipFile | undefined;
  try {
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(archive, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false }, (e, z) =>
        e ? reject(e) : resolve(z!),
      ),
    );
    if (zip.entryCount > limits.maxEntries) {
      fail(`${zip.entryCount} entries, more than ${limits.maxEntries} (limit --max-entries)`);
      return undefined;
    }
    const opened = zip;
    for (let entry = await nextEntry(opened); entry; entry = await nextEntry(opened)) {
      const name = decodeName(entry.fileNameRaw);
      if (name === undefined) {
        fail(`${showName(entry.fileNameRaw.toString('latin1'))}: its name is not valid UTF-8`);
        continue;
      }
      const kind = entryKind(entry, name);
      const verdict = entries.accept(name, kind, kind === 'file' ? entry.uncompressedSize : 0);
      if (verdict === 'stop') return undefined;
      if (!(await localHeaderAgrees(opened, entry, name, fail)) || verdict !== true) continue;
      if (ratioExceeded(entry.uncompressedSize, entry.compressedSize, limits)) {
        fail(`${showName(name)}: expands more than ${limits.maxRatio} times (limit --max-ratio): a decompression bomb?`);
        return undefined;
      }
      const keep = entries.keepsData(name, entry.uncompressedSize);
      const { sha256, crc, data } = await readEntry(opened, entry, keep);
      if (crc !== entry.crc32) fail(`${showName(name)}: CRC-32 mismatch (the data does not match its header)`);
      entries.add(name, { size: entry.uncompressedSize, mode: (entry.externalFileAttributes >>> 16) & 0o7777, sha256 }, data);
    }
  } catch (e) {
    fail(`cannot be read: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  } finally {
    zip?.close();
  }
  return entries.result();
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = () => zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
    zip.once('entry', (entry: yauzl.Entry) => (cleanup(), resolve(entry)));
    zip.once('end', () => (cleanup(), resolve(undefined)));
    zip.once('error', (e: Error) => (cleanup(), reject(e)));
    zip.readEntry();
  });
}

function decodeName(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function entryKind(entry: yauzl.Entry, name: string): EntryKind {
  const type = entry.versionMadeBy >> 8 === UNIX ? (entry.externalFileAttributes >>> 16) & 0o170000 : 0;
  if (type) return TYPE_BITS[type] ?? 'other';
  return name.endsWith('/') ? 'folder' : 'file';
}

async function localHeaderAgrees(zip: yauzl.ZipFile, entry: yauzl.Entry, name: string, fail: (line: string) => void): Promise<boolean> {
  const local = await new Promise<yauzl.LocalFileHeader>((resolve, reject) =>
    zip.readLocalFileHeader(entry, (e, h) => (e ? reject(e) : resolve(h!))),
  );
  const problems: string[] = [];
  if (!Buffer.from(local.fileName).equals(entry.fileNameRaw))
    problems.push(`name ${showName(Buffer.from(local.fileName).toString('utf8'))}`);
  if (local.compressionMethod !== entry.compressionMethod) problems.push('compression method');
  if (!(local.generalPurposeBitFlag & DATA_DESCRIPTOR)) {
    if (local.crc32 !== entry.crc32) problems.push('CRC-32');
    if (local.compressedSize !== ZIP64_SIZE && local.compressedSize !== entry.compressedSize) problems.push('compressed size');
    if (local.uncompressedSize !== ZIP64_SIZE && local.uncompressedSize !== entry.uncompressedSize) problems.push('size');
  }
  if (problems.length) fail(`${showName(name)}: the local header disagrees with the central directory (${problems.join(', ')})`);
  return problems.length === 0;
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, keep: boolean): Promise<{ sha256: string; crc: number; data?: Buffer }> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (e, stream) => {
      if (e) return reject(e);
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let crc = 0;
      stream!.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        crc = crc32(chunk, crc);
        if (keep) chunks.push(chunk);
      });
      stream!.on('error', reject);
      stream!.on('end', () => resolve({ sha256: hash.digest('hex'), crc: crc >>> 0, data: keep ? Buffer.concat(chunks) : undefined }));
    }),
  );
}
