import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { ReleaseError } from './errors';
import { Skip } from './fragment';
import { SectionSource } from './section-packer';
import { stableJson } from './stable-json';

/**
 * What a build target (Godot export, Docker image) leaves in its output folder for a section's
 * `package` target: the files it made, what it could not make and why, and metadata that goes
 * into MANIFEST.json. Written last, so a folder without it is an unfinished build.
 */
export const ARTIFACT_SET_FILE = 'artifacts.json';
export const ARTIFACT_SET_FORMAT = 1;

export interface ArtifactFile {
  /** Path relative to the output folder, and (under the mapping's `to`) in the section. */
  path: string;
  mode: number;
}

export interface ArtifactSet {
  format: typeof ARTIFACT_SET_FORMAT;
  files: ArtifactFile[];
  /** `artifact` is relative to the section folder. */
  skipped: Skip[];
  metadata: Record<string, unknown>;
}

export function writeArtifactSet(outputDir: string, set: Omit<ArtifactSet, 'format'>): void {
  for (const f of set.files) {
    if (!existsSync(join(outputDir, f.path))) throw new Error(`artifact ${f.path} is listed but missing in ${outputDir}`);
  }
  writeFileSync(join(outputDir, ARTIFACT_SET_FILE), stableJson({ format: ARTIFACT_SET_FORMAT, ...set }));
}

export function readArtifactSet(outputDir: string, shown: string): ArtifactSet {
  const file = join(outputDir, ARTIFACT_SET_FILE);
  let set: ArtifactSet;
  try {
    set = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new ReleaseError(`has no readable ${ARTIFACT_SET_FILE}: the target that builds it did not finish`, shown, undefined, 'run the target that writes this folder (the package target depends on it)');
  }
  if (set.format !== ARTIFACT_SET_FORMAT) throw new ReleaseError(`${ARTIFACT_SET_FILE} is not in format ${ARTIFACT_SET_FORMAT}`, shown);
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

export function resolveArtifacts(workspaceRoot: string, mappings: ArtifactMapping[]): ResolvedArtifacts {
  const result: ResolvedArtifacts = { sources: [], skipped: [], metadata: {} };
  for (const mapping of mappings) {
    const dir = join(workspaceRoot, mapping.from);
    const set = readArtifactSet(dir, mapping.from);
    for (const f of set.files) {
      const file = join(dir, f.path);
      const origin = relative(workspaceRoot, file);
      if (!existsSync(file) || !statSync(file).isFile()) throw new ReleaseError(`is listed in ${ARTIFACT_SET_FILE} but missing`, origin);
      result.sources.push({ path: posix.normalize(posix.join(mapping.to, f.path)), origin, file, sourceMode: f.mode });
    }
    for (const s of set.skipped) result.skipped.push({ artifact: posix.normalize(posix.join(mapping.to, s.artifact)), reason: s.reason });
    Object.assign(result.metadata, set.metadata);
  }
  return result;
}
