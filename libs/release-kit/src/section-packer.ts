import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, constants as fsConstants, createReadStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { fileMode } from './determinism';
import { DeflateSink, deflateOptions } from './deflate-sink';
import { ReleaseError } from './errors';
import { FRAGMENT_FILE, FRAGMENT_FORMAT, PackedFile, SectionFragment, Skip, TAR_PACK, TarSegment, TREE_FOLDER, ZIP_PACK } from './fragment';
import { gzipHeader, gzipTrailer } from './gzip';
import { packageFolderName } from './layout';
import { moveIntoPlace, partialPathFor, removeStalePartials } from './move-into-place';
import { PackFile } from './pack-file';
import { compareBytes, stableJson } from './stable-json';
import { tarHeader, tarPadding } from './tar-header';

/** One file of a section: on disk, or bytes a renderer or generator made. */
export interface SectionSource {
  /** Section-relative path in the package. */
  path: string;
  /** Workspace-relative origin, for messages. */
  origin: string;
  file?: string;
  data?: Buffer;
  sourceMode: number;
}

export interface PackSectionOptions {
  section: string;
  version: string;
  sources: SectionSource[];
  skipped: Skip[];
  outputDir: string;
  mtime: number;
  metadata?: Record<string, unknown>;
}

/** Files from this size on are streamed and get tar.gz members of their own. */
export const LARGE_FILE = 1 << 20;
/** Deflate output above this share of the input is not worth it: the entry is stored. */
const STORE_RATIO = 0.98;
const SAMPLE = 256 << 10;

/**
 * Stages a section and precomputes its archive pieces, hashing and compressing each byte once:
 * `tree/` (the files with their modes), the zip data pack, the tar.gz member pack and the
 * fragment that describes them. Written beside the output and moved into place whole.
 */
export async function packSection(options: PackSectionOptions): Promise<SectionFragment> {
  const sources = [...options.sources].sort((a, b) => compareBytes(a.path, b.path));
  assertNoDuplicates(sources);
  mkdirSync(dirname(options.outputDir), { recursive: true });
  removeStalePartials(dirname(options.outputDir));
  const staging = partialPathFor(options.outputDir);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, TREE_FOLDER), { recursive: true });

  const top = packageFolderName(options.version);
  const tarPack = new PackFile(join(staging, TAR_PACK));
  const zipPack = new PackFile(join(staging, ZIP_PACK));
  const tar: TarSegment[] = [];
  const files: PackedFile[] = [];
  const directories = sectionDirectories(options.section, sources);
  let run = new TarRun(tarPack);

  try {
    for (const entry of archiveOrder(options.section, directories, sources)) {
      if (entry.kind === 'directory') {
        await run.write(tarHeader({ path: `${top}/${entry.path}`, type: 'directory', size: 0, mode: 0o755, mtime: options.mtime }));
        continue;
      }
      const source = entry.source;
      const path = `${options.section}/${source.path}`;
      const treeFile = join(staging, TREE_FOLDER, path);
      mkdirSync(dirname(treeFile), { recursive: true });
      const mode = fileMode(path, source.sourceMode);
      const data = source.data ?? readSmall(source);
      const packed = data ? stageSmall(data, treeFile, zipPack) : await stageLarge(source.file!, treeFile, zipPack);
      chmodSync(treeFile, mode);
      files.push({ path, mode, ...packed });
      const header = tarHeader({ path: `${top}/${path}`, type: 'file', size: packed.size, mode, mtime: options.mtime });
      await run.write(header);
      if (data) {
        await run.write(data);
        await run.write(tarPadding(data.length));
      } else {
        tar.push(await run.end());
        tar.push({ content: files.length - 1 });
        run = new TarRun(tarPack);
        await run.write(tarPadding(packed.size));
      }
    }
    tar.push(await run.end());
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    tarPack.close();
    zipPack.close();
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
    skipped: options.skipped,
    metadata: options.metadata ?? {},
  };
  writeFileSync(join(staging, FRAGMENT_FILE), stableJson(fragment));
  moveIntoPlace(staging, options.outputDir);
  return fragment;
}

function assertNoDuplicates(sources: SectionSource[]): void {
  for (let i = 1; i < sources.length; i++) {
    if (sources[i].path === sources[i - 1].path) {
      throw new ReleaseError(`two sources map to the same package path "${sources[i].path}" (also ${sources[i - 1].origin})`, sources[i].origin);
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

function readSmall(source: SectionSource): Buffer | undefined {
  return statSync(source.file!).size < LARGE_FILE ? readFileSync(source.file!) : undefined;
}

type Packed = Omit<PackedFile, 'path' | 'mode'>;

function stageSmall(data: Buffer, treeFile: string, zipPack: PackFile): Packed {
  writeFileSync(treeFile, data);
  const base = { size: data.length, sha256: createHash('sha256').update(data).digest('hex'), crc32: crc32(data) };
  const deflated = deflateRawSync(data, deflateOptions());
  if (data.length === 0 || deflated.length > data.length * STORE_RATIO) return { ...base, method: 0, compressedSize: data.length };
  const offset = zipPack.length;
  zipPack.append(deflated);
  return { ...base, method: 8, compressedSize: deflated.length, zipData: [offset, deflated.length] };
}

async function stageLarge(file: string, treeFile: string, zipPack: PackFile): Promise<Packed> {
  copyFileSync(file, treeFile, fsConstants.COPYFILE_FICLONE);
  const hash = createHash('sha256');
  const offset = zipPack.length;
  let sink: DeflateSink | undefined;
  let size = 0;
  let crc = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (size === 0 && worthDeflating(chunk)) sink = new DeflateSink(zipPack);
    hash.update(chunk);
    crc = crc32(chunk, crc);
    size += chunk.length;
    await sink?.write(chunk);
  }
  const base = { size, sha256: hash.digest('hex'), crc32: crc };
  const compressedSize = sink ? await sink.end() : size;
  if (!sink || compressedSize > size * STORE_RATIO) {
    zipPack.truncate(offset);
    return { ...base, method: 0, compressedSize: size };
  }
  return { ...base, method: 8, compressedSize, zipData: [offset, compressedSize] };
}

/** Already-compressed content (image layers, packed assets) is detected on a sample and stored. */
function worthDeflating(firstChunk: Buffer): boolean {
  const sample = firstChunk.subarray(0, SAMPLE);
  return deflateRawSync(sample, deflateOptions()).length <= sample.length * STORE_RATIO;
}

/** One gzip member of the section's tar stream, deflated as it is written. */
class TarRun {
  private readonly start: number;
  private readonly sink: DeflateSink;

  constructor(private readonly pack: PackFile) {
    this.start = pack.length;
    pack.append(gzipHeader());
    this.sink = new DeflateSink(pack);
  }

  write(data: Buffer): Promise<void> {
    return this.sink.write(data);
  }

  async end(): Promise<TarSegment> {
    await this.sink.end();
    this.pack.append(gzipTrailer(this.sink.crc32, this.sink.size));
    return { member: [this.start, this.pack.length - this.start] };
  }
}
