import { Header, Pax } from 'tar';
import { DIRECTORY_MODE } from '../format/determinism';

export const TAR_BLOCK = 512;

export interface TarEntry {
  /** Archive path; directories without the trailing slash. */
  path: string;
  type: 'file' | 'directory';
  size: number;
  mode: number;
  mtime: number;
}

/**
 * The ustar header of one entry (preceded by a PAX header when the path or size does not fit
 * ustar), with owner 0:0 and empty owner names.
 */
export function tarHeader(entry: TarEntry): Buffer {
  const isDirectory = entry.type === 'directory';
  const fields = {
    path: isDirectory ? `${entry.path}/` : entry.path,
    mode: isDirectory ? DIRECTORY_MODE : entry.mode,
    uid: 0,
    gid: 0,
    size: isDirectory ? 0 : entry.size,
    mtime: new Date(entry.mtime * 1000),
    type: isDirectory ? ('Directory' as const) : ('File' as const),
    uname: '',
    gname: '',
  };
  const block = Buffer.alloc(TAR_BLOCK);
  const header = new Header(fields);
  header.encode(block, 0);
  if (!header.needPax) return block;
  const pax = new Pax({ path: fields.path, size: fields.size > 0o77777777777 ? fields.size : undefined } as never).encode();
  return Buffer.concat([pax, block]);
}

export function tarPadding(size: number): Buffer {
  return Buffer.alloc((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK);
}

export const TAR_END = Buffer.alloc(2 * TAR_BLOCK);
