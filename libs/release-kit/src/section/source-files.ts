import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { assertArchivablePath } from '../format/archive-path';
import { fileSystemError, ReleaseError } from '../support/errors';

export interface SourceFile {
  /** Path relative to the walked folder, with `/` separators. */
  relativePath: string;
  absolutePath: string;
  size: number;
  /** The source's permission bits (only the owner's execute bit is used). */
  mode: number;
}

/**
 * Lists every regular file below `folder`, sorted. A symlink is followed only when its target
 * stays inside `workspaceRoot`; one that leaves it, dangles or loops is an error naming the link.
 */
export function listSourceFiles(folder: string, workspaceRoot: string, displayRoot = workspaceRoot): SourceFile[] {
  const files: SourceFile[] = [];
  const realRoot = realpathSync(workspaceRoot);
  const show = (p: string) => relative(displayRoot, p) || p;

  const visit = (dir: string, rel: string, ancestors: Set<string>) => {
    for (const nameBytes of readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const name = nameBytes.toString('utf8');
      const absolutePath = join(dir, name);
      const relativePath = rel ? `${rel}/${name}` : name;
      if (!Buffer.from(name, 'utf8').equals(nameBytes)) {
        throw new ReleaseError('cannot be archived safely: its name is not valid UTF-8', {
          file: show(absolutePath),
          hint: 'rename the file',
        });
      }
      assertArchivablePath(relativePath, show(absolutePath));
      let stat = lstatSync(absolutePath);
      if (stat.isSymbolicLink()) {
        const target = resolveLink(absolutePath, show(absolutePath));
        if (target !== realRoot && !target.startsWith(realRoot + sep)) {
          throw new ReleaseError(`is a symlink that leaves the workspace (to ${target})`, {
            file: show(absolutePath),
            hint: 'copy the file into the workspace instead',
          });
        }
        if (ancestors.has(target)) throw new ReleaseError('is a symlink loop', { file: show(absolutePath) });
        stat = statSync(absolutePath);
        if (stat.isDirectory()) {
          visit(absolutePath, relativePath, new Set([...ancestors, target]));
          continue;
        }
      }
      if (stat.isDirectory()) visit(absolutePath, relativePath, new Set([...ancestors, realpathSync(absolutePath)]));
      else if (stat.isFile()) files.push({ relativePath, absolutePath, size: stat.size, mode: stat.mode & 0o7777 });
      else throw new ReleaseError('is not a regular file or folder (device, socket or FIFO)', { file: show(absolutePath) });
    }
  };

  let rootStat;
  try {
    rootStat = statSync(folder);
  } catch {
    throw new ReleaseError('the section source folder is missing', { file: show(folder) });
  }
  if (!rootStat.isDirectory()) throw new ReleaseError('is not a folder', { file: show(folder) });
  try {
    visit(folder, '', new Set([realpathSync(folder)]));
  } catch (error) {
    throw fileSystemError(error, show, folder); // e.g. a path beyond PATH_MAX
  }
  return files;
}

function resolveLink(link: string, shown: string): string {
  try {
    return realpathSync(link);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new ReleaseError('is a symlink loop', { file: shown });
    throw new ReleaseError('is a symlink whose target does not exist', { file: shown });
  }
}
