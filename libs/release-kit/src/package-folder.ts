import { createHash } from 'node:crypto';
import { chmodSync, closeSync, linkSync, mkdirSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PackagedSection, RootFile } from './archive-writer';
import { AssembleState, FileStamp, reusableFile } from './assemble-state';
import { ReleaseError } from './errors';
import { MADE_PACK, PackedFile, readMadeFile } from './fragment';

export interface PackageFolderInput {
  workspaceRoot: string;
  sections: PackagedSection[];
  rootFiles: RootFile[];
  /** The package folder and state of the previous assembly, whose unchanged files are linked. */
  previous?: { packageDir: string; state: AssembleState | undefined };
}

/**
 * Lays out the package folder. A file unchanged since the previous assembly is hard-linked from
 * it; any other is copied from the workspace (or the section's made-files pack) and its SHA-256
 * checked on the way, so that a file edited after its section was packaged can never ship under an
 * old hash. Returns the stamps of the linked files, which need no stat again.
 */
export function writePackageFolder(folder: string, input: PackageFolderInput): Map<string, FileStamp> {
  const linked = new Map<string, FileStamp>();
  mkdirSync(folder, { recursive: true });
  chmodSync(folder, 0o755);
  for (const { fragment, outputDir } of input.sections) {
    for (const dir of fragment.directories) {
      mkdirSync(join(folder, dir), { recursive: true });
      chmodSync(join(folder, dir), 0o755);
    }
    for (const file of fragment.files) {
      const to = join(folder, file.path);
      const previous = input.previous && reusableFile(input.previous.state, input.previous.packageDir, file.path, file.sha256, file.mode);
      if (previous) {
        linkSync(previous.file, to);
        linked.set(file.path, previous.stamp);
        continue;
      }
      if (file.source) copyVerified(file, join(input.workspaceRoot, file.source), to);
      else writeVerified(file, readMadeFile(outputDir, file), join(outputDir, MADE_PACK), to);
      chmodSync(to, file.mode);
    }
  }
  for (const root of input.rootFiles) {
    mkdirSync(dirname(join(folder, root.path)), { recursive: true });
    writeFileSync(join(folder, root.path), root.data);
    chmodSync(join(folder, root.path), root.mode);
  }
  return linked;
}

/** Allocated once: a section may ship thousands of files. */
const copyBuffer = Buffer.allocUnsafe(1 << 20);

function writeVerified(file: PackedFile, data: Buffer, pack: string, to: string): void {
  if (data.length !== file.size || createHash('sha256').update(data).digest('hex') !== file.sha256) {
    throw new ReleaseError(`changed after its section was packaged (${file.path} no longer matches its SHA-256)`, pack, undefined, 'rerun `npx nx run release:assemble`, which packages it again');
  }
  writeFileSync(to, data, { flag: 'wx', mode: 0o600 });
}

function copyVerified(file: PackedFile, from: string, to: string): void {
  const hash = createHash('sha256');
  let input: number;
  try {
    input = openSync(from, 'r');
  } catch {
    throw new ReleaseError(`is missing, but its section was packaged with it`, file.source ?? from, undefined, 'rerun the section\'s package target');
  }
  const output = openSync(to, 'wx', 0o600);
  let size = 0;
  try {
    for (let n; (n = readSync(input, copyBuffer, 0, copyBuffer.length, null)) > 0; size += n) {
      hash.update(copyBuffer.subarray(0, n));
      for (let w = 0; w < n; ) w += writeSync(output, copyBuffer, w, n - w);
    }
  } finally {
    closeSync(input);
    closeSync(output);
  }
  if (size !== file.size || hash.digest('hex') !== file.sha256) {
    throw new ReleaseError('changed after its section was packaged (its SHA-256 no longer matches)', file.source ?? from, undefined, 'rerun `npx nx run release:assemble`, which packages it again');
  }
}
