import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReleaseError } from '../support/errors';

/** What a repository knows about a stored object. */
export interface StoredObject {
  size: number;
  /** The full-file SHA-256 recorded when it was uploaded (hex); absent for objects stored by others. */
  sha256?: string;
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
  /** Downloads the object and hashes it (for objects without recorded metadata, and verification). */
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

export function parseArtifactRepo(url: string, shownAs: string): RepositoryAddress {
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (s3) return { kind: 's3', bucket: s3[1], prefix: (s3[2] ?? '').replace(/^\/+|\/+$/g, '') };
  if (url.startsWith('file:///')) return { kind: 'file', root: fileURLToPath(url) };
  throw new ReleaseError(`"${url}" is not an artifact repository: use s3://<bucket>/<prefix> or file:///<absolute path>`, {
    file: shownAs,
  });
}
