import { DIRECTORY_MODE, EXECUTABLE_MODE, FILE_MODE } from '../format/determinism';
import { MADE_SECTION_FILES } from '../format/layout';
import { octalMode } from '../format/manifest';
import { compareBytes } from '../support/stable-json';
import { showName, unsafeEntryName } from './entry-name';
import { ArchiveLimits } from './limits';
import { emptyContents, FileFacts, KEPT_ROOT_FILES, MAX_KEPT_BYTES, PackageContents } from './package-contents';

export type EntryKind = 'file' | 'folder' | 'symlink' | 'hard link' | 'device' | 'fifo' | 'socket' | 'other';

/** What an entry's header says beside its name, judged against the determinism rules. */
export interface EntryHeaderFacts {
  mode: number;
  /** Seconds since 1970, as the header holds it (a zip's DOS time, converted). */
  mtime: number;
}

/**
 * Collects an archive's entries into PackageContents, the same way for tar and zip: every
 * entry must be a safe relative name under one top folder, a regular file or a folder, listed
 * once, in bytewise order, with one mtime and its mode by rule; the folders must be exactly those
 * the files imply. Failures go to `fail`; the readers add each file's facts once read.
 */
export class ArchiveEntries {
  private seen = new Set<string>();
  private bytes = 0;
  private previous: string | undefined;
  private mtime: number | undefined;
  private readonly folderEntries = new Set<string>();
  private readonly contents = emptyContents('');

  constructor(
    private readonly limits: ArchiveLimits,
    private readonly fail: (line: string) => void,
    /** Package-relative paths whose bytes the caller keeps too (within MAX_KEPT_BYTES). */
    private readonly wanted: (path: string) => boolean = () => false,
  ) {}

  /** Judges an entry's header: true to read its data, false to skip it, 'stop' to end the read. */
  accept(rawName: string, kind: EntryKind, size: number, header?: EntryHeaderFacts): boolean | 'stop' {
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
    if (this.previous !== undefined && compareBytes(this.previous, rawName) > 0)
      this.fail(`${shown}: out of order (after ${showName(this.previous)}; the assembler sorts entries bytewise)`);
    this.previous = rawName;
    if (kind !== 'file' && kind !== 'folder') {
      this.fail(`${shown}: is a ${kind}; a package holds only files and folders`);
      return false;
    }
    if (header) this.judgeHeader(shown, name, kind, header);
    const [top, ...rest] = name.split('/');
    this.contents.top ||= top;
    if (top !== this.contents.top) {
      this.fail(`${shown}: is outside the top folder ${this.contents.top}/`);
      return false;
    }
    if (kind === 'folder') {
      this.folderEntries.add(name);
      if (rest.length) this.contents.folders.add(rest.join('/'));
      return false;
    }
    if (!rest.length) {
      this.fail(`${shown}: a file beside the top folder`);
      return false;
    }
    return true;
  }

  /** One mtime for every entry; modes by rule: folders 0755, files 0644 or 0755, `*.sh` 0755. */
  private judgeHeader(shown: string, name: string, kind: 'file' | 'folder', header: EntryHeaderFacts): void {
    this.mtime ??= header.mtime;
    if (header.mtime !== this.mtime) this.fail(`${shown}: its mtime ${header.mtime} is not the archive's one mtime ${this.mtime}`);
    const mode = header.mode;
    const byRule =
      kind === 'folder'
        ? mode === DIRECTORY_MODE
        : name.endsWith('.sh')
          ? mode === EXECUTABLE_MODE
          : mode === FILE_MODE || mode === EXECUTABLE_MODE;
    if (!byRule)
      this.fail(
        `${shown}: mode ${octalMode(mode)} is not by rule ` +
          (kind === 'folder' ? '(folders 0755)' : name.endsWith('.sh') ? '(*.sh files 0755)' : '(files 0644 or 0755)'),
      );
  }

  /** Records a file's facts once its data has been read; `data` only for the files kept (see keepsData). */
  add(rawName: string, facts: FileFacts, data?: Buffer): void {
    const path = rawName.split('/').slice(1).join('/');
    this.contents.files.set(path, facts);
    if (data) this.contents.roots.set(path, data);
  }

  keepsData(rawName: string, size: number): boolean {
    const parts = rawName.split('/');
    if (size > MAX_KEPT_BYTES) return false;
    return (parts.length === 2 && KEPT_ROOT_FILES.has(parts[1])) || (parts.length > 1 && this.wanted(parts.slice(1).join('/')));
  }

  /**
   * The contents, once every entry was read. The folders must be exactly those the files imply,
   * each with its entry (but for a folder only a file the assembler makes implies): a folder that
   * no file implies is a failure, but for a section folder (directly under the top), which the
   * package checks judge against MANIFEST.json's sections.
   */
  result(): PackageContents {
    const top = this.contents.top;
    if (!top) return this.contents;
    const implied = new Set<string>([top]);
    /** Folders that a file the sections ship implies: each has its entry. */
    const shipped = new Set<string>([top]);
    for (const path of this.contents.files.keys()) {
      const parts = `${top}/${path}`.split('/');
      for (let i = 1; i < parts.length; i++) {
        implied.add(parts.slice(0, i).join('/'));
        if (!MADE_SECTION_FILES.has(path)) shipped.add(parts.slice(0, i).join('/'));
      }
    }
    for (const folder of [...shipped].sort(compareBytes))
      if (!this.folderEntries.has(folder))
        this.fail(`${showName(folder)}/: has no folder entry (the assembler writes one for each folder)`);
    const empty: string[] = [];
    for (const folder of this.folderEntries) {
      if (implied.has(folder) || !folder.startsWith(`${top}/`)) continue;
      const path = folder.slice(top.length + 1);
      if (path.includes('/')) this.fail(`${showName(folder)}/: a folder that no file implies`);
      else empty.push(path);
    }
    this.contents.emptyFolders = empty;
    return this.contents;
  }
}
