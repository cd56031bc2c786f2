import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import { Parser, ReadEntry } from 'tar';
import { ArchiveEntries, EntryKind } from './archive-entries';
import { showName } from './entry-name';
import { ArchiveLimits, ratioExceeded } from './limits';
import { PackageContents } from './package-contents';

const KINDS: Record<string, EntryKind> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'folder',
  SymbolicLink: 'symlink',
  Link: 'hard link',
  CharacterDevice: 'device',
  BlockDevice: 'device',
  FIFO: 'fifo',
};

/**
 * Streams a .tar.gz through gunzip and a strict tar parser, hashing every entry in memory: no
 * byte is written to disk. A header that disagrees with its data (size, checksum), a broken gzip
 * stream or CRC, an unsafe entry or a limit ends in a failure line.
 */
export async function readTarGz(
  archive: string,
  limits: ArchiveLimits,
  fail: (line: string) => void,
): Promise<PackageContents | undefined> {
  const entries = new ArchiveEntries(limits, fail);
  let stopped = false;
  let compressed = 0;
  let uncompressed = 0;
  const pending: Promise<void>[] = [];
  const parser = new Parser({ strict: true } as never);
  const parserError = new Promise<never>((_, reject) => {
    parser.on('error', reject);
    (parser as unknown as { on(e: 'warn', f: (code: string, message: string) => void): void }).on('warn', (_code, message) =>
      reject(new Error(message)),
    );
  });
  parserError.catch(() => undefined);
  parser.on('entry', (entry: ReadEntry) => {
    if (stopped) return entry.resume();
    const kind = KINDS[entry.type] ?? 'other';
    const verdict = entries.accept(entry.path, kind, kind === 'file' ? (entry.size ?? 0) : 0);
    if (verdict === 'stop') stopped = true;
    if (verdict !== true) return entry.resume();
    const hash = createHash('sha256');
    const keep = entries.keepsData(entry.path, entry.size ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    entry.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
      if (keep) chunks.push(chunk);
    });
    pending.push(
      new Promise<void>((resolve) =>
        entry.on('end', () => {
          if (size !== entry.size) fail(`${showName(entry.path)}: its header says ${entry.size} bytes, its data has ${size}`);
          entries.add(
            entry.path,
            { size, mode: (entry.mode ?? 0) & 0o7777, sha256: hash.digest('hex') },
            keep ? Buffer.concat(chunks) : undefined,
          );
          resolve();
        }),
      ),
    );
  });

  const input = createReadStream(archive);
  input.on('data', (chunk) => (compressed += chunk.length));
  const gunzip = input.pipe(createGunzip());
  try {
    const parsed = (async () => {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        uncompressed += chunk.length;
        if (ratioExceeded(uncompressed, compressed, limits)) {
          fail(`expands more than ${limits.maxRatio} times (limit --max-ratio): a decompression bomb?`);
          stopped = true;
        }
        if (uncompressed > limits.maxBytes + (1 << 20)) {
          fail(`more than ${limits.maxBytes} uncompressed bytes (limit --max-bytes)`);
          stopped = true;
        }
        if (stopped) break;
        if (!parser.write(chunk)) await once(parser as never, 'drain');
      }
      if (stopped) return;
      const ended = once(parser as never, 'end');
      parser.end();
      await ended;
    })();
    await Promise.race([parsed, parserError]);
    // A stopped read leaves the current entry unfinished: its promise never settles.
    if (!stopped) await Promise.all(pending);
  } catch (e) {
    fail(`cannot be read: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  return stopped ? undefined : entries.result();
}
