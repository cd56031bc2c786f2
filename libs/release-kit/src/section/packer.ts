import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { BUILD_OUTPUT_STAMPS, changedArtifact, outputStamp, OutputStamp, sameOutputStamp } from './artifact-set';
import { RACY_MS } from './source-files';
import { fileMode } from '../format/determinism';
import { deflateOptions } from '../archive/compression';
import { sha256, sha256File } from '../support/digest';
import { ReleaseError } from '../support/errors';
import {
  FRAGMENT_FILE,
  FRAGMENT_FORMAT,
  MADE_PACK,
  PackedFile,
  SectionFragment,
  Skip,
  TAR_PACK,
  TarSegment,
  ZIP_PACK,
} from '../format/fragment';
import { deflatePieceSync, FINAL_BLOCK } from '../archive/gzip';
import { crc32Combine } from '../archive/crc32-combine';
import { packageFolderName } from '../format/layout';
import { renderVersion } from '../format/version-token';
import { moveIntoPlace, partialPathFor, removeStalePartials } from '../support/move-into-place';
import { PackFile } from '../archive/pack-file';
import { KnownFile, PieceStore, PieceWriter } from '../archive/piece-store';
import { BatchContent, readContent, TarBatch } from './tar-batch';
import { DEFLATE_CHUNK, deflateChunk, deflateWhole, OrderedPipeline } from '../archive/parallel-deflate';
import { compareBytes, writeStableJson } from '../support/stable-json';
import { tarHeader, tarPadding } from '../archive/tar-header';
import type { SectionSource } from './sources';

export interface PackSectionOptions {
  workspaceRoot: string;
  section: string;
  version: string;
  sources: SectionSource[];
  skipped: Skip[];
  outputDir: string;
  mtime: number;
  metadata?: Record<string, unknown>;
  /** A larger file is refused before any byte of it is read (default DEFAULT_MAX_FILE_BYTES). */
  maxFileBytes?: number;
  /** The folder of the section's piece store (pieceStoreDir): deflate pieces of unchanged content are reused from there. */
  pieceStore?: string;
  /** Told how many pieces the store gave, of how many. */
  log?: (line: string) => void;
}

/** Larger files are streamed fine (PAX sizes, Zip64) but are more likely a mistake than a release artifact. */
export const DEFAULT_MAX_FILE_BYTES = 8 * 2 ** 30;

/** Files from this size on are streamed and get tar.gz members of their own. */
export const LARGE_FILE = 1 << 20;
/** Small files and headers are joined into gzip members of about this many bytes. */
const TAR_BATCH = 4 << 20;
/**
 * A batch below TAR_BATCH takes one more file under LARGE_FILE with its header and padding. A file
 * held in memory that does not fit what is left (a made file can be any size, a long path takes a
 * PAX header) gets a member of its own instead, as a large file does.
 */
const BATCH_CAPACITY = TAR_BATCH + LARGE_FILE + 1024;
/** Files from this size on are deflated on the thread pool, smaller ones on the main thread. */
const POOL_DEFLATE = 64 << 10;
/** Deflate output above this share of the input is not worth it: the entry is stored. */
const STORE_RATIO = 0.98;
const SAMPLE = 256 << 10;

/**
 * Hashes a section's files and precomputes its archive pieces, reading each byte once and
 * compressing on every core: the zip data pack (one raw deflate per file), the tar.gz member pack,
 * the made-files pack for bytes that exist nowhere else (rendered or generated), and the fragment that
 * describes them. Files shipped as they are stay in the workspace, named by their
 * workspace-relative path, so the cached output holds no second copy of a large binary.
 * Written beside the output and moved into place whole.
 */
export async function packSection(options: PackSectionOptions): Promise<SectionFragment> {
  const sources = [...options.sources].sort((a, b) => compareBytes(a.path, b.path));
  assertNoDuplicates(sources);
  assertSizes(sources, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  mkdirSync(dirname(options.outputDir), { recursive: true });
  removeStalePartials(dirname(options.outputDir));
  const staging = partialPathFor(options.outputDir);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });

  const top = packageFolderName(options.version);
  const tarPack = new PackFile(join(staging, TAR_PACK));
  const zipPack = new PackFile(join(staging, ZIP_PACK));
  const madePack = new PackFile(join(staging, MADE_PACK));
  const pieces = PieceStore.open(options.pieceStore);
  const zipQueue = new OrderedPipeline<{ file: PackedFile; deflated: Buffer }>(({ file, deflated }) =>
    placeZipData(file, deflated, zipPack),
  );
  // A batch in flight holds its bytes until deflated: two keep both cores busy.
  const tarQueue = new OrderedPipeline<{ deflated: Buffer; segment: TarSegment }>(({ deflated, segment }) => {
    (segment as { member: [number, number] }).member = [tarPack.length, deflated.length];
    tarPack.append(deflated);
  }, 2);
  const tar: TarSegment[] = [];
  /** CRC-32 and length of each segment's uncompressed bytes, in tar order: the section's part of the gzip trailer. */
  const tarChecks: Array<[crc: number, size: number]> = [];
  const stamps: Record<string, OutputStamp> = {};
  const files: PackedFile[] = [];
  const directories = sectionDirectories(options.section, sources);
  const batches = new BatchBuffers();
  let batch = new TarBatch();
  const flushBatch = async () => {
    const segment: TarSegment = { member: [0, 0] };
    tar.push(segment);
    const full = batch;
    tarChecks.push([full.crc32(), full.size]);
    batch = new TarBatch();
    const key = PieceStore.key('batch', full.key());
    const kept = pieces.get(key);
    if (kept) return tarQueue.push(Promise.resolve({ deflated: kept, segment }));
    const buffer = batches.take();
    const data = full.bytes(buffer);
    await tarQueue.push(
      deflateWhole(data).then((deflated) => {
        pieces.put(key, deflated);
        batches.give(buffer);
        return { deflated, segment };
      }),
    );
  };
  const addBytes = async (...parts: Buffer[]) => {
    batch.addBytes(...parts);
    if (batch.size >= TAR_BATCH) await flushBatch();
  };
  /** The file's header ends a member, its content is a member of its own (its zip entry's data), its padding starts the next. */
  const addOwnMember = async (header: Buffer, index: number, size: number) => {
    await addBytes(header);
    await flushBatch();
    tar.push({ content: index });
    tarChecks.push([files[index].crc32, size]);
    await addBytes(tarPadding(size));
  };

  try {
    for (const entry of archiveOrder(options.section, directories, sources)) {
      if (entry.kind === 'directory') {
        await addBytes(tarHeader({ path: `${top}/${entry.path}`, type: 'directory', size: 0, mode: 0o755, mtime: options.mtime }));
        continue;
      }
      const source = entry.source;
      const path = `${options.section}/${source.path}`;
      const stampBefore = source.sha256 ? outputStamp(source.file!) : undefined;
      const observedAt = Date.now();
      const mode = fileMode(path, source.sourceMode);
      const made =
        source.data ?? (source.renderVersion === undefined ? undefined : renderVersion(readFileSync(source.file!), source.renderVersion));
      const file: PackedFile = { path, mode, size: 0, sha256: '', crc32: 0, method: 0, compressedSize: 0 };
      if (made) {
        file.made = [madePack.length, made.length];
        madePack.append(made);
      } else {
        file.source = workspacePath(options.workspaceRoot, source);
        if (source.sha256) file.buildOutput = true;
      }
      files.push(file);
      // A source file whose stat is what it was when it was last read is known by the digests it had.
      const known = !made && !source.sha256 && source.stat ? pieces.knownFile(file.source!, source.stat.key) : undefined;
      const content = made ? contentOf(made, source.origin) : smallContent(source, known);
      if (content) {
        Object.assign(file, { size: content.size, sha256: content.sha256, crc32: content.crc32, compressedSize: content.size });
        if (!made && !known && source.stat?.settled) pieces.rememberFile(file.source!, source.stat.key, content);
        // Deflated once, and stored when that does not pay (placeZipData decides).
        await zipQueue.push(deflatePiece(pieces, content).then((deflated) => ({ file, deflated })));
        const header = tarHeader({ path: `${top}/${path}`, type: 'file', size: content.size, mode, mtime: options.mtime });
        const padding = tarPadding(content.size);
        if (batch.size + header.length + content.size + padding.length <= BATCH_CAPACITY) {
          batch.addBytes(header);
          batch.addContent(content);
          await addBytes(padding);
        } else {
          await addOwnMember(header, files.length - 1, content.size);
        }
      } else {
        await zipQueue.drain();
        Object.assign(file, await packLargeFile(source.file!, zipPack, pieces, source.sha256, known?.sha256));
        if (known && file.sha256 !== known.sha256) throw changedArtifact(source.origin, 'was written while it was being packaged');
        if (!source.sha256 && !known && source.stat?.settled) pieces.rememberFile(file.source!, source.stat.key, file);
        await addOwnMember(
          tarHeader({ path: `${top}/${path}`, type: 'file', size: file.size, mode, mtime: options.mtime }),
          files.length - 1,
          file.size,
        );
      }
      if (source.sha256 && file.sha256 !== source.sha256)
        throw changedArtifact(source.origin, `has SHA-256 ${file.sha256}, not the ${source.sha256} listed`);
      if (stampBefore) {
        if (!sameOutputStamp(outputStamp(source.file!), stampBefore))
          throw changedArtifact(source.origin, 'was written while it was being packaged');
        if (observedAt - stampBefore.ctimeMs >= RACY_MS) stamps[path] = stampBefore;
      }
    }
    await flushBatch();
    await zipQueue.drain();
    await tarQueue.drain();
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    tarPack.close();
    zipPack.close();
    madePack.close();
    pieces.close();
  }
  if (options.pieceStore) {
    const sourceFiles = files.filter((f) => f.source && !f.buildOutput).length;
    const pieceCount = pieces.hits + pieces.misses;
    options.log?.(
      `${pieces.hits} of ${pieceCount} deflate pieces reused; ${pieces.knownFiles} of ${sourceFiles} sources unchanged since last read`,
    );
  }

  const fragment: SectionFragment = {
    format: FRAGMENT_FORMAT,
    section: options.section,
    version: options.version,
    topFolder: top,
    mtime: options.mtime,
    directories,
    files,
    tar,
    tarCrc32: tarChecks.reduce((crc, [pieceCrc, size]) => crc32Combine(crc, pieceCrc, size), 0),
    tarSize: tarChecks.reduce((sum, [, size]) => sum + size, 0),
    skipped: options.skipped,
    metadata: options.metadata ?? {},
  };
  writeStableJson(join(staging, FRAGMENT_FILE), fragment);
  if (Object.keys(stamps).length) writeStableJson(join(staging, BUILD_OUTPUT_STAMPS), stamps);
  moveIntoPlace(staging, options.outputDir);
  return fragment;
}

/** Batch buffers are reused: fresh 4 MiB buffers per batch piled up as garbage (about 70 MiB for the docs section). */
class BatchBuffers {
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(BATCH_CAPACITY);
  }

  give(buffer: Buffer): void {
    this.free.push(buffer);
  }
}

function assertNoDuplicates(sources: SectionSource[]): void {
  for (let i = 1; i < sources.length; i++) {
    if (sources[i].path === sources[i - 1].path) {
      throw new ReleaseError(`two sources map to the same package path "${sources[i].path}" (also ${sources[i - 1].origin})`, {
        file: sources[i].origin,
      });
    }
  }
}

function assertSizes(sources: SectionSource[], maxFileBytes: number): void {
  for (const source of sources) {
    const size = source.data?.length ?? source.size ?? statSync(source.file!).size;
    if (size > maxFileBytes) {
      throw new ReleaseError(`is ${size} bytes, more than maxFileBytes (${maxFileBytes})`, {
        file: source.origin,
        hint: 'raise "maxFileBytes" in the package target\'s options if the file belongs in the release',
      });
    }
  }
}

/** The section folder and every folder that holds a file, package-relative. */
function sectionDirectories(section: string, sources: SectionSource[]): string[] {
  const dirs = new Set<string>([section]);
  for (const s of sources) {
    const parts = `${section}/${s.path}`.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort(compareBytes);
}

type OrderedEntry = { kind: 'directory'; path: string } | { kind: 'file'; source: SectionSource };

/** Directories and files in bytewise order of their archive names (directories end in `/`). */
function archiveOrder(section: string, directories: string[], sources: SectionSource[]): OrderedEntry[] {
  const entries: Array<[string, OrderedEntry]> = [
    ...directories.map((path): [string, OrderedEntry] => [`${path}/`, { kind: 'directory', path }]),
    ...sources.map((source): [string, OrderedEntry] => [`${section}/${source.path}`, { kind: 'file', source }]),
  ];
  return entries.sort((a, b) => compareBytes(a[0], b[0])).map(([, entry]) => entry);
}

function workspacePath(workspaceRoot: string, source: SectionSource): string {
  const path = relative(workspaceRoot, source.file!);
  if (path.startsWith('..')) throw new ReleaseError('is outside the workspace', { file: source.origin });
  return path.split('\\').join('/');
}

function readIfSmall(file: string): Buffer | undefined {
  return statSync(file).size < LARGE_FILE ? readFileSync(file) : undefined;
}

/** A zip entry's data is the file's deflate piece and the final block; the tar.gz takes the piece alone. */
function placeZipData(file: PackedFile, piece: Buffer, zipPack: PackFile): void {
  const compressedSize = piece.length + FINAL_BLOCK.length;
  if (compressedSize > file.size * STORE_RATIO || file.size === 0) return;
  file.method = 8;
  file.compressedSize = compressedSize;
  file.zipData = [zipPack.length, compressedSize];
  zipPack.append(piece);
  zipPack.append(FINAL_BLOCK);
}

/**
 * The zip piece of a small file's content, from the store when it has the piece of these bytes (the
 * file is then not read at all when its content is known by its stat). A tiny input is deflated
 * here: handing it to the thread pool costs more than compressing it.
 */
async function deflatePiece(pieces: PieceStore, content: BatchContent): Promise<Buffer> {
  const key = PieceStore.key('whole', content.sha256);
  const kept = pieces.get(key);
  if (kept) return kept;
  const data = content.bytes ?? Buffer.allocUnsafe(content.size);
  if (!content.bytes) readContent(content, data);
  const piece = data.length < POOL_DEFLATE ? deflatePieceSync(data) : await deflateWhole(data);
  pieces.put(key, piece);
  return piece;
}

/** Bytes held in memory, as batch content. */
function contentOf(bytes: Buffer, origin: string): BatchContent {
  return { size: bytes.length, sha256: sha256(bytes), crc32: crc32(bytes), bytes, origin };
}

/** A small file's content: known by its digests (not read), or read now; undefined for a large file. */
function smallContent(source: SectionSource, known: KnownFile | undefined): BatchContent | undefined {
  if (known && source.size! < LARGE_FILE) return { size: source.size!, ...known, file: source.file, origin: source.origin };
  if (known) return undefined;
  const bytes = readIfSmall(source.file!);
  return bytes && contentOf(bytes, source.origin);
}

type LargeFile = Omit<PackedFile, 'path' | 'mode' | 'source'>;

/**
 * A large file's zip data, from the store when it has the piece of this content. A build output's
 * digest is the one its artifacts.json records (`recorded`): the file is then read once, to be
 * hashed. One known by its unchanged stat (`known`) is not read at all. Another large file is hashed
 * first, so that an unchanged one is not deflated again.
 */
async function packLargeFile(
  file: string,
  zipPack: PackFile,
  pieces: PieceStore,
  recorded: string | undefined,
  known: string | undefined,
): Promise<LargeFile> {
  const digest = recorded ?? known ?? (await sha256File(file));
  const key = PieceStore.key('chunked', digest);
  const meta = pieces.meta(key);
  const actual = async () => (recorded ? await sha256File(file) : digest);
  if (meta?.stored) return { size: meta.size, sha256: await actual(), crc32: meta.crc32, method: 0, compressedSize: meta.size };
  if (meta) {
    const offset = zipPack.length;
    if (pieces.copy(key, (chunk) => zipPack.append(chunk))) {
      const compressedSize = zipPack.length - offset;
      return { size: meta.size, sha256: await actual(), crc32: meta.crc32, method: 8, compressedSize, zipData: [offset, compressedSize] };
    }
    zipPack.truncate(offset);
  }
  return deflateLargeFile(file, zipPack, pieces.writer(key));
}

/** Streams a large file once: SHA-256, CRC-32 and (unless it does not compress) parallel deflate, kept in the store too. */
async function deflateLargeFile(file: string, zipPack: PackFile, kept: PieceWriter): Promise<LargeFile> {
  const hash = createHash('sha256');
  const offset = zipPack.length;
  const deflated = new OrderedPipeline<Buffer>((piece) => {
    zipPack.append(piece);
    kept.append(piece);
  }, 4);
  let size = 0;
  let crc = 0;
  let compress: boolean | undefined;
  let previous: Buffer | undefined;
  for await (const chunk of exactChunks(file)) {
    compress ??= worthDeflating(chunk);
    hash.update(chunk);
    crc = crc32(chunk, crc);
    size += chunk.length;
    if (!compress) continue;
    await deflated.push(deflateChunk(chunk, previous));
    previous = chunk;
  }
  await deflated.drain();
  if (compress) {
    zipPack.append(FINAL_BLOCK);
    kept.append(FINAL_BLOCK);
  }
  const base = { size, sha256: hash.digest('hex'), crc32: crc };
  const compressedSize = zipPack.length - offset;
  if (!compress || compressedSize > size * STORE_RATIO) {
    zipPack.truncate(offset);
    // Remembered as stored, so that it is not sampled or deflated again.
    kept.discard();
    kept.commit({ crc32: crc, size, stored: 1 });
    return { ...base, method: 0, compressedSize: size };
  }
  kept.commit({ crc32: crc, size });
  return { ...base, method: 8, compressedSize, zipData: [offset, compressedSize] };
}

/** The file in chunks of exactly DEFLATE_CHUNK bytes (the last shorter): the deflate depends on it. */
async function* exactChunks(file: string): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const read of createReadStream(file, { highWaterMark: DEFLATE_CHUNK }) as AsyncIterable<Buffer>) {
    carry = carry.length ? Buffer.concat([carry, read]) : read;
    while (carry.length >= DEFLATE_CHUNK) {
      yield carry.subarray(0, DEFLATE_CHUNK);
      carry = carry.subarray(DEFLATE_CHUNK);
    }
  }
  if (carry.length) yield carry;
}

/** Already-compressed content (image layers, packed assets) is detected on a sample and stored. */
function worthDeflating(data: Buffer): boolean {
  const sample = data.subarray(0, SAMPLE);
  return sample.length > 0 && deflateRawSync(sample, deflateOptions()).length <= sample.length * STORE_RATIO;
}
