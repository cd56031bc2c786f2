import { existsSync } from 'node:fs';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { assertArchivablePath } from '../format/archive-path';
import { ReleaseError } from '../support/errors';
import { generateFile, GeneratedFile } from './generated-files';
import { FileStat, fileMapList, gitFileList, listSourceFiles } from './source-files';

/** One file of a section: on disk, or bytes a renderer or generator made. */
export interface SectionSource {
  /** Section-relative path in the package. */
  path: string;
  /** Workspace-relative origin, for messages. */
  origin: string;
  /** The file on disk (absolute). Shipped as it is unless `data` or `renderVersion` is given. */
  file?: string;
  /** Its size when its folder was listed (otherwise it is stat'ed for the maxFileBytes check). */
  size?: number;
  /** Bytes to ship instead of the file (generated). */
  data?: Buffer;
  /** Ship the file with `{{version}}` replaced by this version, rendered when it is packed (not all at once, for flat memory). */
  renderVersion?: string;
  sourceMode: number;
  /** The SHA-256 its builder recorded (artifacts.json): packing fails if the file no longer has it. */
  sha256?: string;
  /** The file's stat when it was listed: an unchanged one is not read again (see PieceStore.knownFile). */
  stat?: FileStat;
}

/** A folder of the section project copied into the section's package folder. */
export interface SourceMapping {
  /** Folder relative to the project root. */
  from: string;
  /** Folder relative to the section's package folder (`.` for its root). */
  to: string;
  /** Replace `{{version}}` with the release version in the files of this mapping. */
  render?: boolean;
}

export interface ResolveSourcesOptions {
  workspaceRoot: string;
  projectRoot: string;
  version: string;
  sources: SourceMapping[];
  generate?: GeneratedFile[];
  /**
   * The project's files as Nx's file map has them (workspace-relative, `/` separators): tracked
   * files plus untracked files git does not ignore, the files the package task's hash covers. Only
   * these ship. Without it (outside Nx), `git ls-files` lists the same.
   */
  projectFiles?: Iterable<string>;
}

const MAX_RENDERED = 16 << 20;

/** Turns a section's declared mappings and generated files into the list of files it ships. */
export function resolveSectionSources(options: ResolveSourcesOptions): SectionSource[] {
  const root = join(options.workspaceRoot, options.projectRoot);
  const show = (p: string) => relative(options.workspaceRoot, p);
  const result: SectionSource[] = [];
  const folders = options.sources.map((mapping) => {
    const folder = join(root, mapping.from);
    const inProject = relative(root, folder);
    if (inProject === '..' || inProject.startsWith(`..${sep}`) || isAbsolute(inProject))
      throw new ReleaseError(`sources "${mapping.from}" is outside the project: Nx hashes only the project's own files`, {
        file: `${options.projectRoot}/project.json`,
        hint: 'move the files into the project',
      });
    return folder;
  });
  // A generator's input is a source too: an ignored file feeds no generated file.
  const inputs = (options.generate ?? []).filter((g) => g.from).map((g) => join(root, g.from!));
  // One list for every mapping: Nx's file map, or one git call.
  const list = options.projectFiles ? fileMapList(options.projectFiles) : gitFileList(options.workspaceRoot, [...folders, ...inputs]);
  options.sources.forEach((mapping, index) => {
    const folder = folders[index];
    // Each file's workspace-relative origin, without a path.relative per file.
    const shownFolder = show(folder);
    for (const file of listSourceFiles(folder, options.workspaceRoot, list)) {
      const path = posix.normalize(posix.join(mapping.to, file.relativePath));
      const origin = shownFolder ? `${shownFolder}/${file.relativePath}` : file.relativePath;
      const source: SectionSource = { path, origin, file: file.absolutePath, size: file.size, sourceMode: file.mode, stat: file.stat };
      assertArchivablePath(path, `${options.projectRoot}/project.json (sources "${mapping.to}" -> ${source.origin})`);
      if (mapping.render) {
        if (file.size > MAX_RENDERED)
          throw new ReleaseError(`is too large to render (${file.size} bytes); move it to a mapping without "render"`, {
            file: source.origin,
          });
        source.renderVersion = options.version;
      }
      result.push(source);
    }
  });
  for (const generated of options.generate ?? []) {
    const origin = `${options.projectRoot}/project.json (generate ${generated.kind} -> ${JSON.stringify(generated.to).slice(1, -1)})`;
    assertArchivablePath(generated.to, origin);
    const input = generated.from && join(root, generated.from);
    if (input && list.paths && existsSync(input) && !list.paths.has(show(input).split(sep).join('/')))
      throw new ReleaseError(`is not in ${list.source} (git ignores it), so it cannot make ${generated.to}`, {
        file: show(input),
        hint: 'commit the file, or stop ignoring it',
      });
    const { data, mode } = generateFile(generated, { root, version: options.version, show });
    result.push({ path: generated.to, origin, data, sourceMode: mode });
  }
  return result;
}
