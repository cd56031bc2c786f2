import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pieceStoreDir } from '../libs/release-kit/src/archive/piece-store';

/** The real workspace these tests copy. */
export const SOURCE_ROOT = join(__dirname, '..');
const SKIPPED = new Set(['node_modules', 'dist', '.nx', '.git', 'tmp']);
const made: string[] = [];
const copies: string[] = [];

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  made.push(dir);
  return dir;
}

export function cleanUp(): void {
  // The copies share node_modules, which keeps a piece store per copy: removed while the link still leads there.
  for (const root of copies.splice(0)) rmSync(pieceStoreDir(root, ''), { recursive: true, force: true });
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * A copy of the workspace in a fresh git repository with one commit on `main`, sharing
 * node_modules with the real one. Built output, the Nx cache and git history stay behind.
 */
export function copyWorkspace(label = 'workspace'): string {
  const root = join(tempDir(label), 'spacetime');
  copies.push(root);
  cpSync(SOURCE_ROOT, root, {
    recursive: true,
    filter: (src) => !SKIPPED.has(relative(SOURCE_ROOT, src).split('/')[0]),
  });
  symlinkSync(join(SOURCE_ROOT, 'node_modules'), join(root, 'node_modules'));
  git(root, 'init', '-q', '-b', 'main');
  commitAll(root, 'Initial import');
  return root;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();
}

export function commitAll(cwd: string, message: string): void {
  git(cwd, 'add', '-A');
  git(cwd, '-c', 'user.name=Release Tests', '-c', 'user.email=tests@spacetime-vr.invalid', 'commit', '-q', '--allow-empty', '-m', message);
}

export interface Run {
  status: number;
  output: string;
}

/** Runs a real `nx` command in a workspace copy, without the daemon or the TUI. */
export function nx(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}, shellPrefix = ''): Run {
  // The local binary: `npx` would add an npm start-up to every call.
  const command = `${shellPrefix}exec node_modules/.bin/nx ${args.map((a) => `'${a}'`).join(' ')}`;
  // The Nx cache lives in the copy (Nx 24 would otherwise keep one per path under ~/.nx).
  const fullEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NO_COLOR: '1',
    NX_CACHE_DIRECTORY: join(cwd, '.nx/cache'),
    ...env,
  };
  delete fullEnv.FORCE_COLOR;
  const result = spawnSync('bash', ['-c', command], {
    cwd,
    encoding: 'utf8',
    env: fullEnv,
    maxBuffer: 1 << 26,
  });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

/** Runs a shell command (the recipient's tools) and returns its status and output. */
export function sh(cwd: string, command: string, env: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync('bash', ['-c', command], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

const CACHE_MARKER = /\[(?:local cache|remote cache|existing outputs match the cache, left as is)\]/;

function tasks(output: string, fromCache: boolean): string[] {
  const ids = new Set<string>();
  for (const [, id, rest] of output.matchAll(/^\s*(?:>|✔)\s+nx run (\S+)(.*)$/gm)) {
    if (CACHE_MARKER.test(rest) === fromCache) ids.add(id);
  }
  return [...ids].sort();
}

/** Task ids Nx ran for real (not from the cache), read from its output. */
export function tasksRun(output: string): string[] {
  return tasks(output, false);
}

/** Task ids Nx restored from the cache. */
export function tasksFromCache(output: string): string[] {
  return tasks(output, true);
}
