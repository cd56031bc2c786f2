import { ROOT_FILES } from '../format/layout';

export interface FileFacts {
  size: number;
  sha256: string;
  mode: number;
}

/** What a package holds, read from a folder or an archive: every file's facts, and the root files' bytes. */
export interface PackageContents {
  /** The top folder's name, `spacetime-vr-v<version>`. */
  top: string;
  /** Package-relative path of every regular file. */
  files: Map<string, FileFacts>;
  /** Package-relative path of every folder. */
  folders: Set<string>;
  /** The bytes of the signed root files (SHA256SUMS, its signature, MANIFEST.json), when present, and of the files a caller wanted. */
  roots: Map<string, Buffer>;
  /** Folders directly under the top that an archive lists without any file in them (judged against MANIFEST.json's sections). */
  emptyFolders?: string[];
}

/** Root files the checks need as bytes; each is small, larger ones are not kept. */
export const KEPT_ROOT_FILES = new Set<string>([ROOT_FILES.checksums, ROOT_FILES.signature, ROOT_FILES.manifest]);
export const MAX_KEPT_BYTES = 64 << 20;

export function emptyContents(top: string): PackageContents {
  return { top, files: new Map(), folders: new Set(), roots: new Map() };
}
