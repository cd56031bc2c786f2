import { join, posix, relative } from 'node:path';
import { assertArchivablePath } from '../format/archive-path';
import { ReleaseError } from '../support/errors';
import { generateFile, GeneratedFile } from './generated-files';
import { listSourceFiles } from './source-files';

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
}

const MAX_RENDERED = 16 << 20;

/** Turns a section's declared mappings and generated files into the list of files it ships. */
export function resolveSectionSources(options: ResolveSourcesOptions): SectionSource[] {
  const root = join(options.workspaceRoot, options.projectRoot);
  const show = (p: string) => relative(options.workspaceRoot, p);
  const result: SectionSource[] = [];
  for (const mapping of options.sources) {
    const folder = join(root, mapping.from);
    // Each file's workspace-relative origin, without a path.relative per file.
    const shownFolder = show(folder);
    for (const file of listSourceFiles(folder, options.workspaceRoot)) {
      const path = posix.normalize(posix.join(mapping.to, file.relativePath));
      const origin = shownFolder ? `${shownFolder}/${file.relativePath}` : file.relativePath;
      const source: SectionSource = { path, origin, file: file.absolutePath, size: file.size, sourceMode: file.mode };
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
  }
  for (const generated of options.generate ?? []) {
    const origin = `${options.projectRoot}/project.json (generate ${generated.kind} -> ${JSON.stringify(generated.to).slice(1, -1)})`;
    assertArchivablePath(generated.to, origin);
    const { data, mode } = generateFile(generated, { root, version: options.version, show });
    result.push({ path: generated.to, origin, data, sourceMode: mode });
  }
  return result;
}
