import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BuildOutputs, writeBuildOutputs } from './synthetic-release';

/**
 * The bench's second data shape (`--data=debian`), made from files a Debian machine has, unlike
 * the synthetic one: most bytes already compressed (the image: real .gz, .xz, .jar, .zip, .png and
 * .pak files from /usr, one after another, cycled when the machine has fewer), a real executable
 * as the server (the largest of a few that every machine of this project has), and thousands of
 * real text files of mixed sizes up to 2 MiB in one section (docs).
 */
export interface DebianSize {
  imageMiB: number;
  docFiles: number;
}

export function debianSize(scale: number): DebianSize {
  return { imageMiB: Math.round(300 * scale), docFiles: Math.round(4500 * scale) };
}

const EXECUTABLES = ['/usr/bin/godot3', '/usr/bin/dockerd', '/usr/bin/containerd', '/usr/bin/node'];
const TEXT_ROOTS = ['/usr/share/doc', '/usr/share/perl', '/usr/lib/python3', '/usr/include', '/usr/share/javascript'];

export function writeDebianRelease(root: string, outputsDir: string, size: DebianSize, docsDir: string): string {
  const server = EXECUTABLES.map((file) => ({ file, size: sizeOf(file) })).sort((a, b) => b.size - a.size)[0];
  if (!server?.size) throw new Error(`none of ${EXECUTABLES.join(', ')} exists`);
  const compressed = find(
    ['/usr'],
    [
      '-name',
      '*.gz',
      '-o',
      '-name',
      '*.xz',
      '-o',
      '-name',
      '*.jar',
      '-o',
      '-name',
      '*.zip',
      '-o',
      '-name',
      '*.png',
      '-o',
      '-name',
      '*.pak',
    ],
    '+16k',
  );
  const outputs: BuildOutputs = {
    image: (write) => {
      for (let written = 0, i = 0; written < size.imageMiB << 20; i++) {
        const bytes = readFileSync(compressed[i % compressed.length]).subarray(0, (size.imageMiB << 20) - written);
        write(bytes);
        written += bytes.length;
      }
    },
    server: (write) => write(readFileSync(server.file)),
  };
  writeBuildOutputs(root, outputsDir, outputs);
  // Every n-th text file, so that the sample spans all the folders (and their sizes), not the first alphabetically.
  const candidates = find(TEXT_ROOTS, ['-name', '*'], '-2049k').filter(isText);
  const step = Math.max(1, Math.floor(candidates.length / size.docFiles));
  const texts = candidates.filter((_, i) => i % step === 0).slice(0, size.docFiles);
  for (const file of texts) {
    const target = join(root, docsDir, file.slice(1));
    mkdirSync(dirname(target), { recursive: true });
    // Rendered as docs are: a literal version token in a real file would be replaced, so none is kept.
    writeFileSync(target, readFileSync(file).toString('latin1').split('{{version}}').join('{ {version} }'), 'latin1');
  }
  const serverMiB = (server.size / 2 ** 20).toFixed(0);
  const image = `${size.imageMiB} MiB of ${compressed.length} compressed files`;
  return `real data: ${image}, server ${server.file} (${serverMiB} MiB), ${texts.length} text files`;
}

/** Files under `roots` matching `names` and find's `-size` test, sorted; unreadable folders are passed over. */
function find(roots: string[], names: string[], size: string): string[] {
  const run = spawnSync('find', [...roots, '-xdev', '-type', 'f', '(', ...names, ')', '-size', size], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return run.stdout.split('\n').filter(Boolean).sort();
}

function sizeOf(file: string): number {
  try {
    return lstatSync(file).isFile() ? lstatSync(file).size : 0;
  } catch {
    return 0;
  }
}

/** No NUL byte in the first 8 KiB, and not empty. */
function isText(file: string): boolean {
  const buffer = Buffer.alloc(8192);
  const fd = openSync(file, 'r');
  try {
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return n > 0 && !buffer.subarray(0, n).includes(0);
  } finally {
    closeSync(fd);
  }
}
