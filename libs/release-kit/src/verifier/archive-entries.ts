import { showName, unsafeEntryName } from './entry-name';
import { ArchiveLimits } from './limits';
import { emptyContents, FileFacts, KEPT_ROOT_FILES, MAX_KEPT_BYTES, PackageContents } from './package-contents';

export type EntryKind = 'file' | 'folder' | 'symlink' | 'hard link' | 'device' | 'fifo' | 'socket' | 'other';

/**
 * Collects an archive's entries into PackageContents, the same way for tar and zip: every
 * entry must be a safe relative name under one top folder, a regular file or a folder, listed
 * once, within the limits. Failures go to `fail`; the readers add each file's facts once read.
 */
export class ArchiveEntries {
  private seen = new Set<string>();
  private bytes = 0;
  private readonly contents = emptyContents('');

  constructor(
    private readonly limits: ArchiveLimits,
    private readonly fail: (line: string) => void,
  ) {}

  /** Judges an entry's header: true to read its data, false to skip it, 'stop' to end the read. */
  accept(rawName: string, kind: EntryKind, size: number): boolean | 'stop' {
    const name = rawName.replace(/\/$/, '');
    const shown = showName(rawName);
    if (this.seen.size >= this.limits.maxEntries) {
      this.fail(`more than ${this.limits.maxEntries} entries (limit --max-entries)`);
      return 'stop';
    }
    this.bytes += size;
    if (this.bytes > this.limits.maxBytes) {
      this.fail(`more than ${this.limits.maxBytes} uncompressed bytes (limit --max-bytes), at ${shown}`);
      return 'stop';
    }
    const unsafe = unsafeEntryName(rawName);
    if (unsafe) {
      this.fail(`${shown}: unsafe entry name (${unsafe})`);
      return false;
    }
    if (this.seen.has(name)) {
      this.fail(`${shown}: appears twice`);
      return false;
    }
    this.seen.add(name);
    if (kind !== 'file' && kind !== 'folder') {
      this.fail(`${shown}: is a ${kind}; a package holds only files and folders`);
      return false;
    }
    const [top, ...rest] = name.split('/');
    this.contents.top ||= top;
    if (top !== this.contents.top) {
      this.fail(`${shown}: is outside the top folder ${this.contents.top}/`);
      return false;
    }
    if (kind === 'folder') {
      if (rest.length) this.contents.folders.add(rest.join('/'));
      return false;
    }
    if (!rest.length) {
      this.fail(`${shown}: a file beside the top folder`);
      return false;
    }
    return true;
  }

  /** Records a file's facts once its data has been read; `data` only for root files worth keeping. */
  add(rawName: string, facts: FileFacts, data?: Buffer): void {
    const path = rawName.split('/').slice(1).join('/');
    this.contents.files.set(path, facts);
    if (data) this.contents.roots.set(path, data);
  }

  keepsData(rawName: string, size: number): boolean {
    const parts = rawName.split('/');
    return parts.length === 2 && KEPT_ROOT_FILES.has(parts[1]) && size <= MAX_KEPT_BYTES;
  }

  result(): PackageContents {
    return this.contents;
  }
}
