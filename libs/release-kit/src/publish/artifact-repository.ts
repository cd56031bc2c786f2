import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReleaseError } from '../support/errors';

/** What a repository knows about a stored object. */
export interface StoredObject {
  size: number;
}

/** A local file to compare with a stored object. */
export interface LocalFile {
  file: string;
  size: number;
  /** Its SHA-256, hex. */
  sha256: string;
}

/**
 * How a stored object was compared with a local file: by size (a different size differs), by a
 * checksum the store computed from the bytes it holds, or by downloading and hashing it. Never by
 * metadata, which anyone who writes the object can set.
 */
export interface Comparison {
  same: boolean;
  by: 'size' | 'checksum' | 'content';
}

export interface PutRequest {
  key: string;
  file: string;
  size: number;
  sha256: string;
  acl?: 'public-read';
  /** Files larger than this are uploaded in parts of this size. */
  partSize: number;
  log: (line: string) => void;
}

export interface PutResult {
  parts: number;
}

/**
 * Where releases are published: an S3 bucket and prefix, or a local folder with the same layout.
 * Keys are relative to the repository's prefix (`releases/v2.5.0/SHA256SUMS`).
 */
export interface ArtifactRepository {
  /** `s3://bucket/prefix` or `file:///path`: for messages and the report (never a secret). */
  readonly location: string;
  /** Credentials resolve and the bucket (or folder) exists: a clear error otherwise. */
  checkAccess(): Promise<void>;
  /** Writes and deletes a small object under the prefix. */
  probeWrite(): Promise<void>;
  head(key: string): Promise<StoredObject | undefined>;
  /**
   * Whether the stored object holds exactly the local file's bytes (undefined when there is none):
   * proven by a SHA-256 the store computed, else by a streamed download and hash.
   */
  compare(key: string, local: LocalFile): Promise<Comparison | undefined>;
  /** Downloads the object and hashes it (verification after an upload). */
  hashContent(key: string): Promise<string>;
  /** A small object's content (the Helm index), or undefined when there is none. */
  read(key: string): Promise<Buffer | undefined>;
  put(request: PutRequest): Promise<PutResult>;
}

export type RepositoryAddress = { kind: 's3'; bucket: string; prefix: string } | { kind: 'file'; root: string };

/** Default repository for development: a folder in the workspace's dist/. */
export function defaultArtifactRepo(workspaceRoot: string): string {
  return `file://${join(workspaceRoot, 'dist/artifact-repo')}`;
}

/** The repository chosen, and the setting that gave it, for messages. */
export interface ChosenArtifactRepo {
  url: string;
  /** `optionShownAs`, `ARTIFACT_REPO` or `the default repository`. */
  source: string;
}

/**
 * The repository release:publish uses, and release:doctor and release:diff read: the option when
 * set, else ARTIFACT_REPO, else the default (empty values count as unset).
 */
export function chooseArtifactRepo(
  option: string | undefined,
  env: NodeJS.ProcessEnv,
  workspaceRoot: string,
  optionShownAs = '--artifactRepo',
): ChosenArtifactRepo {
  if (option) return { url: option, source: optionShownAs };
  if (env.ARTIFACT_REPO) return { url: env.ARTIFACT_REPO, source: 'ARTIFACT_REPO' };
  return { url: defaultArtifactRepo(workspaceRoot), source: 'the default repository' };
}

export function parseArtifactRepo(url: string, shownAs: string): RepositoryAddress {
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (s3) return { kind: 's3', bucket: s3[1], prefix: (s3[2] ?? '').replace(/^\/+|\/+$/g, '') };
  if (url.startsWith('file:///')) return { kind: 'file', root: fileURLToPath(url) };
  throw new ReleaseError(`"${url}" is not an artifact repository: use s3://<bucket>/<prefix> or file:///<absolute path>`, {
    file: shownAs,
  });
}
