import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ReleaseError } from '../support/errors';

export const FRAGMENT_FILE = 'fragment.json';
/** Bytes that exist nowhere else (rendered or generated files), one after another. */
export const MADE_PACK = 'made-files.bin';
export const TAR_PACK = 'tar-members.bin';
export const ZIP_PACK = 'zip-data.bin';
export const FRAGMENT_FORMAT = 3;

/** An artifact a build could not make, and why: recorded in MANIFEST.json `skipped`. */
export interface Skip {
  artifact: string;
  reason: string;
}

export interface PackedFile {
  /** Package-relative path, e.g. `config/production/.env.template`. */
  path: string;
  /** Workspace-relative file the bytes are shipped from, or else... */
  source?: string;
  /** ...where they are in the made-files pack. */
  made?: [offset: number, length: number];
  /**
   * The source is a build output listed in its target's artifacts.json. Build targets replace
   * their output folder and Nx's cache restore replaces each output file, so nothing writes
   * through such a file: the package folder links it instead of copying its bytes.
   */
  buildOutput?: true;
  size: number;
  sha256: string;
  mode: number;
  crc32: number;
  /** Zip method: 8 deflate (data at `zipData` in the zip pack) or 0 stored (data is the file). */
  method: 0 | 8;
  compressedSize: number;
  zipData?: [offset: number, length: number];
}

/**
 * The tar stream of a section, in order: precompressed deflate pieces (headers and small files,
 * in the tar pack), and the content of large files, which assemble puts in the stream as the zip
 * entry's deflate piece without its final block (or as stored blocks).
 */
export type TarSegment = { member: [offset: number, length: number] } | { content: number };

/** What a section's cached `package` target hands to `release:assemble`. */
export interface SectionFragment {
  format: typeof FRAGMENT_FORMAT;
  section: string;
  version: string;
  topFolder: string;
  mtime: number;
  directories: string[];
  files: PackedFile[];
  tar: TarSegment[];
  /** CRC-32 and length of the section's uncompressed tar stream, combined into the archive's gzip trailer. */
  tarCrc32: number;
  tarSize: number;
  skipped: Skip[];
  metadata: Record<string, unknown>;
}

export function readFragment(sectionOutput: string, section: string, version: string): SectionFragment {
  const file = join(sectionOutput, FRAGMENT_FILE);
  let fragment: SectionFragment;
  try {
    fragment = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ReleaseError(
      missing ? `section "${section}" has no package output` : `section "${section}" has an unreadable package output`,
      { file, hint: `run \`npx nx run ${section}:package\` (release:assemble runs it for you through its dependencies)` },
    );
  }
  if (fragment.format !== FRAGMENT_FORMAT || fragment.section !== section) {
    throw new ReleaseError(`is not a package output of section "${section}" in format ${FRAGMENT_FORMAT}`, { file });
  }
  if (fragment.version !== version) {
    throw new ReleaseError(`was packaged for version ${fragment.version}, but VERSION says ${version}`, {
      file,
      hint: `rerun \`npx nx run ${section}:package\``,
    });
  }
  return fragment;
}

/** SHA-256 of what a section ships (paths, contents, modes): what its validation report judged. */
export function contentDigest(fragment: SectionFragment): string {
  const hash = createHash('sha256');
  // A JSON-quoted path cannot contain the separators; one line per file.
  for (const f of fragment.files) hash.update(`${JSON.stringify(f.path)} ${f.sha256} ${f.mode}\n`);
  return hash.digest('hex');
}

/** The bytes of a made (rendered or generated) file, from its section's made-files pack. */
export function readMadeFile(sectionOutput: string, file: PackedFile): Buffer {
  const pack = join(sectionOutput, MADE_PACK);
  const [offset, length] = file.made!;
  const data = Buffer.alloc(length);
  let fd: number;
  try {
    fd = openSync(pack, 'r');
  } catch {
    throw new ReleaseError(`is missing, but the section's fragment lists ${file.path} in it`, {
      file: pack,
      hint: "rerun the section's package target",
    });
  }
  try {
    for (let got = 0; got < length;) {
      const n = readSync(fd, data, got, length - got, offset + got);
      if (n === 0)
        throw new ReleaseError(`is shorter than its fragment says (${file.path})`, {
          file: pack,
          hint: "rerun the section's package target",
        });
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return data;
}
