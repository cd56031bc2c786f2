import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { ReleaseError } from '../support/errors';
import { Skip } from '../format/fragment';
import type { SectionSource } from './sources';
import { stableJson } from '../support/stable-json';

/**
 * What a build target (Godot export, Docker image) leaves in its output folder for a section's
 * `package` target: the files it made, what it could not make and why, and metadata that goes
 * into MANIFEST.json. Written last, so a folder without it is an unfinished build.
 *
 * It also carries each file's size and SHA-256, so that a `package` target can take this small
 * file as its input (a `dependentTasksOutputFiles` glob that matches only artifacts.json) instead
 * of the artifacts themselves: Nx's hasher reads every input file whole into memory, which for a
 * multi-GiB image tarball is a multi-GiB Nx daemon.
 */
export const ARTIFACT_SET_FILE = 'artifacts.json';
export const ARTIFACT_SET_FORMAT = 2;

export interface ArtifactFile {
  /** Path relative to the output folder, and (under the mapping's `to`) in the section. */
  path: string;
  mode: number;
}

export interface HashedArtifactFile extends ArtifactFile {
  size: number;
  sha256: string;
}

export interface ArtifactSet {
  format: typeof ARTIFACT_SET_FORMAT;
  files: HashedArtifactFile[];
  /** `artifact` is relative to the section folder. */
  skipped: Skip[];
  metadata: Record<string, unknown>;
}

/** Hashes the listed files (streaming) and writes the set into their folder. */
export async function writeArtifactSet(
  outputDir: string,
  set: Omit<ArtifactSet, 'format' | 'files'> & { files: ArtifactFile[] },
): Promise<void> {
  const files: HashedArtifactFile[] = [];
  for (const f of set.files) {
    const file = join(outputDir, f.path);
    if (!existsSync(file)) throw new Error(`artifact ${f.path} is listed but missing in ${outputDir}`);
    files.push({ ...f, ...(await fileDigest(file)) });
  }
  writeFileSync(join(outputDir, ARTIFACT_SET_FILE), stableJson({ format: ARTIFACT_SET_FORMAT, ...set, files }));
}

async function fileDigest(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

export function readArtifactSet(outputDir: string, shown: string): ArtifactSet {
  const file = join(outputDir, ARTIFACT_SET_FILE);
  let set: ArtifactSet;
  try {
    set = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new ReleaseError(`has no readable ${ARTIFACT_SET_FILE}: the target that builds it did not finish`, {
      file: shown,
      hint: 'run the target that writes this folder (the package target depends on it)',
    });
  }
  if (set.format !== ARTIFACT_SET_FORMAT)
    throw new ReleaseError(`${ARTIFACT_SET_FILE} is not in format ${ARTIFACT_SET_FORMAT}`, { file: shown, hint: rebuildHint(shown) });
  return set;
}

/** A build output folder mapped into a section: `from` is workspace-relative. */
export interface ArtifactMapping {
  from: string;
  to: string;
}

export interface ResolvedArtifacts {
  sources: SectionSource[];
  skipped: Skip[];
  metadata: Record<string, unknown>;
}

/** An artifact whose bytes are not the ones its artifacts.json lists: edited or replaced after its target ran. */
export function changedArtifact(origin: string, what: string): ReleaseError {
  return new ReleaseError(`${what}: it changed after the target that built it wrote ${ARTIFACT_SET_FILE}`, {
    file: origin,
    hint: rebuildHint(dirname(origin)),
  });
}

function rebuildHint(folder: string): string {
  return `rebuild it: run the target that writes ${folder} with --skip-nx-cache`;
}

/**
 * What lstat said of each build output while its section's package target hashed it, by package
 * path. Beside the fragment, not in it: the fragment's bytes depend on content only. A file that
 * still has its stamp (same inode, size, mtime and ctime, which no write leaves as it was) is the
 * file that was hashed, and the package folder links it without reading it again.
 */
export const BUILD_OUTPUT_STAMPS = 'build-output-stamps.json';

export interface OutputStamp {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function outputStamp(file: string): OutputStamp | undefined {
  const s = lstatSync(file, { throwIfNoEntry: false });
  return s?.isFile() ? { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs } : undefined;
}

export function sameOutputStamp(a: OutputStamp | undefined, b: OutputStamp | undefined): boolean {
  return !!a && !!b && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** The stamps a section's package target recorded; none if it recorded none or they cannot be read (every file is then hashed). */
export function readOutputStamps(sectionOutput: string): Record<string, OutputStamp> {
  try {
    return JSON.parse(readFileSync(join(sectionOutput, BUILD_OUTPUT_STAMPS), 'utf8'));
  } catch {
    return {};
  }
}

export function resolveArtifacts(workspaceRoot: string, mappings: ArtifactMapping[]): ResolvedArtifacts {
  const result: ResolvedArtifacts = { sources: [], skipped: [], metadata: {} };
  for (const mapping of mappings) {
    const dir = join(workspaceRoot, mapping.from);
    const set = readArtifactSet(dir, mapping.from);
    for (const f of set.files) {
      const file = join(dir, f.path);
      const origin = relative(workspaceRoot, file);
      const stat = existsSync(file) ? statSync(file) : undefined;
      if (!stat?.isFile()) throw new ReleaseError(`is listed in ${ARTIFACT_SET_FILE} but missing`, { file: origin });
      if (stat.size !== f.size) throw changedArtifact(origin, `is ${stat.size} bytes, not the ${f.size} listed`);
      result.sources.push({ path: posix.normalize(posix.join(mapping.to, f.path)), origin, file, sourceMode: f.mode, sha256: f.sha256 });
    }
    for (const s of set.skipped) result.skipped.push({ artifact: posix.normalize(posix.join(mapping.to, s.artifact)), reason: s.reason });
    Object.assign(result.metadata, set.metadata);
  }
  return result;
}
