import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ReleaseError } from '../support/errors';
import { PackedFile, SectionFragment, TAR_PACK, ZIP_PACK } from '../format/fragment';
import { crc32Combine } from './crc32-combine';
import {
  deflatePadding,
  deflatePieceSync,
  FINAL_BLOCK,
  gzipHeader,
  gzipTrailer,
  MAX_STORED_BLOCK,
  MIN_DEFLATE_PADDING,
  storedBlockHeader,
} from './gzip';
import { PackFile } from './pack-file';
import { deflateWhole } from './parallel-deflate';
import { compareBytes } from '../support/stable-json';
import { TAR_END, tarHeader, tarPadding } from './tar-header';
import {
  centralDirectoryRecord,
  endOfCentralDirectory,
  localFileHeader,
  localFileHeaderLength,
  METHOD_DEFLATE,
  METHOD_STORE,
  MIN_ZIP_PADDING,
  ZipEntry,
} from './zip-records';

/** A file at the package root, made by assemble. */
export interface RootFile {
  path: string;
  data: Buffer;
  mode: number;
}

/** A root file with its one deflate piece, shared by the .tar.gz and the zip entry (which adds the final block). */
export interface DeflatedRootFile extends RootFile {
  deflated: Buffer;
  crc32: number;
}

/** Deflates the root files on the thread pool, so that the main thread can go on meanwhile. */
export function deflateRootFiles(rootFiles: RootFile[]): Promise<DeflatedRootFile[]> {
  return Promise.all(rootFiles.map(async (root) => ({ ...root, deflated: await deflateWhole(root.data), crc32: crc32(root.data) })));
}

export interface PackagedSection {
  fragment: SectionFragment;
  /** The section's package output folder (dist/sections/<name>). */
  outputDir: string;
  /** SHA-256 of its fragment.json: the same digest, top folder and mtime give the same archive bytes. */
  digest: string;
}

/**
 * Where each section's bytes lie in an archive. The next assembly writes over this archive (kept
 * as the spare) and leaves a section with the same digest at the same offset where it is.
 */
export interface ArchiveLayout {
  top: string;
  mtime: number;
  sections: SectionPlace[];
}

export interface SectionPlace {
  digest: string;
  start: number;
  end: number;
  /** In a zip, where the section's central directory records lie. */
  central?: [start: number, end: number];
}

/**
 * Each section, and each run of root files before one, fills a whole number of these blocks,
 * padded (a zip extra field, empty deflate blocks), so that a section or MANIFEST.json growing by
 * a few bytes leaves the sections after it where they were. The padding is a function of the
 * content alone: a cold build gives the same bytes.
 */
const BLOCK = 1 << 15;
const roundUp = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** The archives are written over their spares, around the page cache: nothing here reads them back. */
const ARCHIVE_FILE = { overwrite: true, direct: true };

export interface ArchiveInput {
  top: string;
  /** The staged package folder: stored (uncompressed) content is read from there. */
  packageDir: string;
  mtime: number;
  rootFiles: DeflatedRootFile[];
  sections: PackagedSection[];
}

type Unit = { key: string; root?: DeflatedRootFile; section?: PackagedSection; padded?: boolean };

/** The package in archive order: the top folder, then root files and sections by name, bytewise. */
function units(input: ArchiveInput): Unit[] {
  const sorted: Unit[] = [
    ...input.rootFiles.map((root) => ({ key: root.path, root })),
    ...input.sections.map((section) => ({ key: `${section.fragment.section}/`, section })),
  ].sort((a, b) => compareBytes(a.key, b.key));
  // A made file inside a section folder (security/reports/security-checklist.md) follows the
  // section's cached members, so it must sort after every entry of that section.
  for (const { root } of sorted) {
    const section = root && input.sections.find((s) => root.path.startsWith(`${s.fragment.section}/`));
    const last = section && [...section.fragment.directories, ...section.fragment.files.map((f) => f.path)].sort(compareBytes).pop();
    if (root && last && compareBytes(last, root.path) >= 0) {
      throw new ReleaseError(`the section ships ${last}, which sorts at or after the generated ${root.path}`, {
        file: `libs/sections/${section!.fragment.section}`,
        hint: 'rename it: the generated file must be the last entry of its section',
      });
    }
  }
  // Padded: every unit followed by another, but a root file followed by a root file.
  sorted.forEach((unit, i) => (unit.padded = i + 1 < sorted.length && !(unit.root && sorted[i + 1].root)));
  return sorted;
}

/** Copy buffers, allocated once. */
const copyBuffer = Buffer.allocUnsafe(1 << 20);
const storedBlockBuffer = Buffer.allocUnsafe(MAX_STORED_BLOCK);

/** Appends `length` bytes of the open file `fd` from `offset` to `out`, through one reused buffer. */
function copyRange(fd: number, file: string, offset: number, length: number, out: PackFile, frame?: (chunk: number) => void): void {
  const buffer = frame ? storedBlockBuffer : copyBuffer;
  let done = 0;
  do {
    const want = Math.min(buffer.length, length - done);
    for (let got = 0; got < want;) {
      const n = readSync(fd, buffer, got, want - got, offset + done + got);
      if (n === 0) throw new Error(`${file} is shorter than its package output says`);
      got += n;
    }
    frame?.(want);
    out.append(buffer.subarray(0, want));
    done += want;
  } while (done < length);
}

/** Appends `length` bytes of `file` from its start (framed in stored blocks when `frame` is given). */
function copyFile(file: string, length: number, out: PackFile, frame?: (chunk: number) => void): void {
  const fd = openSync(file, 'r');
  try {
    copyRange(fd, file, 0, length, out, frame);
  } finally {
    closeSync(fd);
  }
}

/** A section's packs, each opened once: a zip of 20,000 small files copies 20,000 ranges of one pack. */
class SectionPacks {
  private readonly fds = new Map<string, number>();
  constructor(private readonly outputDir: string) {}

  copy(pack: string, [offset, length]: [number, number], out: PackFile): void {
    const file = join(this.outputDir, pack);
    let fd = this.fds.get(file);
    if (fd === undefined) this.fds.set(file, (fd = openSync(file, 'r')));
    copyRange(fd, file, offset, length, out);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
  }
}

/**
 * Writes each section of an archive, leaving one that `spare` (the layout of the archive being
 * written over) has at the same offset with the same digest as it is. Returns the new layout.
 */
function sectionsWriter(input: ArchiveInput, out: PackFile, spare: ArchiveLayout | undefined) {
  const written: WrittenArchive = { layout: { top: input.top, mtime: input.mtime, sections: [] }, size: 0, kept: 0 };
  const reusable = spare?.top === input.top && spare.mtime === input.mtime ? spare.sections : [];
  return {
    /** Writes the section with `body`, or leaves it where the spare has it; returns the spare's place then. */
    write(section: PackagedSection, body: () => void): SectionPlace | undefined {
      const start = out.length;
      const keep = reusable.find((k) => k.digest === section.digest && k.start === start);
      if (keep) {
        out.keep(keep.end - keep.start);
        written.kept += keep.end - keep.start;
      } else {
        body();
      }
      written.layout.sections.push({ digest: section.digest, start, end: out.length });
      return keep;
    },
    done(): WrittenArchive {
      written.size = out.length;
      return written;
    },
  };
}

export interface WrittenArchive {
  layout: ArchiveLayout;
  size: number;
  /** Bytes of unchanged sections left in place in the spare instead of being written. */
  kept: number;
}

/**
 * The one gzip member of a .tar.gz, appended piece by piece: the header first, then deflate pieces
 * each with the CRC-32 and length of what it holds, then the final block and the trailer.
 */
class GzipStream {
  private crc = 0;
  private size = 0;

  constructor(private readonly out: PackFile) {
    out.append(gzipHeader());
  }

  /** Counts `size` uncompressed bytes with CRC `crc`, whose piece the caller appended (or left in place). */
  holds(crc: number, size: number): void {
    this.crc = crc32Combine(this.crc, crc, size);
    this.size += size;
  }

  /** Deflates `data` here as one piece. */
  deflate(data: Buffer): void {
    if (data.length === 0) return;
    this.out.append(deflatePieceSync(data));
    this.holds(crc32(data), data.length);
  }

  end(): void {
    this.out.append(FINAL_BLOCK);
    this.out.append(gzipTrailer(this.crc, this.size));
  }
}

/**
 * Writes the .tar.gz as one gzip member, joining the sections' cached deflate pieces. A root file
 * is its zip entry's deflate piece, as a section's large file is; only tar headers, tar padding
 * and the end-of-archive blocks are compressed here. Units are padded to whole blocks with empty
 * deflate blocks.
 */
export function writeTarGz(input: ArchiveInput, outFile: string, spare?: ArchiveLayout, mirror?: string): WrittenArchive {
  const out = new PackFile(outFile, { ...ARCHIVE_FILE, mirror });
  const gzip = new GzipStream(out);
  const sections = sectionsWriter(input, out, spare);
  let pending: Buffer[] = [tarHeader({ path: input.top, type: 'directory', size: 0, mode: 0o755, mtime: input.mtime })];
  const flush = () => {
    gzip.deflate(Buffer.concat(pending));
    pending = [];
  };
  const pad = () => out.append(deflatePadding(roundUp(out.length + MIN_DEFLATE_PADDING) - out.length));
  try {
    for (const unit of units(input)) {
      if (unit.root) {
        const { path, data, mode, deflated, crc32: crc } = unit.root;
        pending.push(tarHeader({ path: `${input.top}/${path}`, type: 'file', size: data.length, mode, mtime: input.mtime }));
        flush();
        out.append(deflated);
        gzip.holds(crc, data.length);
        pending.push(tarPadding(data.length));
        if (unit.padded) {
          flush();
          pad();
        }
        continue;
      }
      flush();
      const { fragment, outputDir } = unit.section!;
      const packs = new SectionPacks(outputDir);
      try {
        sections.write(unit.section!, () => {
          for (const segment of fragment.tar) {
            if ('member' in segment) {
              packs.copy(TAR_PACK, segment.member, out);
              continue;
            }
            const file = fragment.files[segment.content];
            const [offset, length] = file.zipData ?? [0, 0];
            if (file.method === METHOD_DEFLATE) packs.copy(ZIP_PACK, [offset, length - FINAL_BLOCK.length], out);
            else if (file.size > 0) copyFile(join(input.packageDir, file.path), file.size, out, (n) => out.append(storedBlockHeader(n)));
          }
          if (unit.padded) pad();
        });
        gzip.holds(fragment.tarCrc32, fragment.tarSize);
      } finally {
        packs.close();
      }
    }
    pending.push(TAR_END);
    flush();
    gzip.end();
    return sections.done();
  } finally {
    out.close();
  }
}

/** Writes the .zip: local entries in archive order, then the central directory. */
export function writeZip(input: ArchiveInput, outFile: string, spare?: ArchiveLayout, mirror?: string): WrittenArchive {
  // A section left in place keeps its central directory records too; they are read before anything is written over them.
  const spareRecords = spare && new SpareCentralDirectory(outFile, spare);
  const out = new PackFile(outFile, { ...ARCHIVE_FILE, mirror });
  const sections = sectionsWriter(input, out, spareRecords?.layout);
  const central: Buffer[] = [];
  let centralLength = 0;
  let entryCount = 0;
  const addRecords = (records: Buffer, entries: number) => {
    central.push(records);
    centralLength += records.length;
    entryCount += entries;
  };
  /** Adds an entry; `padded`: its local header takes the padding that ends it on a block boundary. */
  const add = (entry: ZipEntry, data: () => void, padded = false) => {
    const offset = out.length;
    let padding = 0;
    if (padded) {
      const end = offset + localFileHeaderLength(entry) + MIN_ZIP_PADDING + entry.compressedSize;
      padding = MIN_ZIP_PADDING + roundUp(end) - end;
    }
    out.append(localFileHeader(entry, padding));
    data();
    addRecords(centralDirectoryRecord(entry, offset), 1);
  };
  const directory = (name: string): ZipEntry => ({
    name,
    directory: true,
    method: METHOD_STORE,
    crc32: 0,
    compressedSize: 0,
    size: 0,
    mode: 0o755,
    mtime: input.mtime,
  });
  /** Where each section's records lie, counted from the start of the central directory. */
  const sectionRecords: Array<[number, number]> = [];
  try {
    add(directory(input.top), () => undefined);
    for (const unit of units(input)) {
      if (unit.root) {
        const { path, data, mode, deflated, crc32: crc } = unit.root;
        const entry = {
          name: `${input.top}/${path}`,
          directory: false,
          method: METHOD_DEFLATE,
          crc32: crc,
          compressedSize: deflated.length + FINAL_BLOCK.length,
          size: data.length,
          mode,
          mtime: input.mtime,
        };
        add(
          entry,
          () => {
            out.append(deflated);
            out.append(FINAL_BLOCK);
          },
          unit.padded,
        );
        continue;
      }
      const { fragment, outputDir } = unit.section!;
      const recordsFrom = centralLength;
      const packs = new SectionPacks(outputDir);
      try {
        const kept = sections.write(unit.section!, () => {
          const entries: { key: string; dir?: string; file?: PackedFile }[] = [
            ...fragment.directories.map((dir) => ({ key: `${dir}/`, dir })),
            ...fragment.files.map((file) => ({ key: file.path, file })),
          ].sort((a, b) => compareBytes(a.key, b.key));
          for (const [i, { dir, file }] of entries.entries()) {
            const padded = unit.padded && i === entries.length - 1;
            if (dir !== undefined) {
              add(directory(`${input.top}/${dir}`), () => undefined, padded);
              continue;
            }
            const entry = {
              name: `${input.top}/${file!.path}`,
              directory: false,
              method: file!.method,
              crc32: file!.crc32,
              compressedSize: file!.compressedSize,
              size: file!.size,
              mode: file!.mode,
              mtime: input.mtime,
            };
            add(
              entry,
              () => {
                if (file!.method === METHOD_DEFLATE) packs.copy(ZIP_PACK, file!.zipData!, out);
                else if (file!.size > 0) copyFile(join(input.packageDir, file!.path), file!.size, out);
              },
              padded,
            );
          }
        });
        if (kept) addRecords(spareRecords!.of(kept), fragment.directories.length + fragment.files.length);
      } finally {
        packs.close();
      }
      sectionRecords.push([recordsFrom, centralLength]);
    }
    const directoryOffset = out.length;
    for (const records of central) out.append(records);
    out.append(endOfCentralDirectory(entryCount, centralLength, directoryOffset));
    const written = sections.done();
    written.layout.sections.forEach(
      (place, i) => (place.central = [directoryOffset + sectionRecords[i][0], directoryOffset + sectionRecords[i][1]]),
    );
    return written;
  } finally {
    out.close();
  }
}

/**
 * The central directory records of the sections of a spare zip that say where they are: a section
 * left in place at the same offset has the very same records, which are read here, in one piece,
 * before the zip is written over. The sections that do not say are not left in place.
 */
class SpareCentralDirectory {
  readonly layout: ArchiveLayout;
  private readonly from: number;
  private readonly bytes: Buffer;

  constructor(file: string, spare: ArchiveLayout) {
    this.layout = { ...spare, sections: spare.sections.filter((s) => s.central) };
    const ranges = this.layout.sections.map((s) => s.central!);
    this.from = Math.min(...ranges.map(([from]) => from));
    this.bytes = Buffer.alloc(ranges.length ? Math.max(...ranges.map(([, to]) => to)) - this.from : 0);
    if (!ranges.length) return;
    const fd = openSync(file, 'r');
    try {
      for (let got = 0; got < this.bytes.length;) {
        const n = readSync(fd, this.bytes, got, this.bytes.length - got, this.from + got);
        if (n === 0) throw new Error(`${file} is shorter than its layout says (central directory up to ${this.from + this.bytes.length})`);
        got += n;
      }
    } finally {
      closeSync(fd);
    }
  }

  of(place: SectionPlace): Buffer {
    const [from, to] = place.central!;
    return this.bytes.subarray(from - this.from, to - this.from);
  }
}
