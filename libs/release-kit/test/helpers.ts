import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const made: string[] = [];

export function tempDir(label = 'release-kit'): string {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  made.push(dir);
  return dir;
}

export function cleanTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** Runs a real tool and returns its stdout; throws with its stderr if it fails. */
export function tool(command: string, args: string[], cwd?: string): string {
  return execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString('utf8');
}

export function toolStatus(command: string, args: string[], cwd?: string): { status: number; output: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Bytes that deflate cannot shrink (a stand-in for an image tarball). */
export function incompressible(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Bytes that compress well but are not trivially repetitive (a stand-in for a server binary). */
export function compressible(size: number): Buffer {
  const words = ['spacetime', 'shard', 'player', 'vr', 'frame', 'tick', 'mesh', 'session', '\n', ' '];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const w = words[(i * 7 + (i >> 3)) % words.length] + (i % 97);
    parts.push(w);
    length += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}
