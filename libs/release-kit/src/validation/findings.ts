import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, ToolName } from './tools';

/**
 * `error` fails the validation; `skip` is a check that could not run (a missing tool in the
 * development mode, an error in production); `waiver` is a policy waived by an annotation with a
 * reason; `note` says how a check was run when it could not run on the file as shipped.
 */
export type Severity = 'error' | 'skip' | 'waiver' | 'note';

export interface Finding {
  rule: string;
  /** Package-relative path, e.g. `kubernetes/base/deployment.yaml`. */
  file: string;
  line?: number;
  message: string;
  severity: Severity;
}

export type Mode = 'development' | 'production';

/** Where the sections' package outputs are, for a check that compares one section with another. */
export interface PackagedSections {
  workspaceRoot: string;
  /** The folder holding every section's package output (`dist/sections`). */
  outputs: string;
}

/** What every check of one section gets: where the staged files are and where findings go. */
export class ValidationContext {
  readonly findings: Finding[] = [];
  readonly checks = new Set<string>();
  private scratch?: string;

  constructor(
    /** A folder holding the staged section folder (see stageSectionTree). */
    readonly treeRoot: string,
    readonly section: string,
    readonly version: string,
    readonly mode: Mode,
    /** Package-relative file paths and modes from the section's fragment. */
    readonly files: Array<{ path: string; mode: number }>,
    readonly now: Date = new Date(),
    readonly packaged?: PackagedSections,
  ) {}

  /** Absolute path of a package-relative path. */
  abs(path: string): string {
    return join(this.treeRoot, path);
  }

  add(rule: string, file: string, line: number | undefined, message: string, severity: Severity = 'error'): void {
    this.findings.push({ rule, file, line, message, severity });
  }

  /** The path of a tool, or undefined after recording a skip (an error in production). */
  tool(name: ToolName, check: string): string | undefined {
    this.checks.add(check);
    const tool = findTool(name);
    if (tool.path) return tool.path;
    const severity = this.mode === 'production' ? 'error' : 'skip';
    this.add('tool/missing', this.section, undefined, `${check} not run: ${name} is not installed (${tool.install})`, severity);
    return undefined;
  }

  /** A temporary folder for rendered copies; removed by `dispose`. */
  temp(): string {
    this.scratch ??= mkdtempSync(join(tmpdir(), 'spacetime-validate-'));
    return this.scratch;
  }

  dispose(): void {
    if (this.scratch) rmSync(this.scratch, { recursive: true, force: true });
    this.scratch = undefined;
  }

  /** Section files under a package-relative folder, optionally filtered by a pattern. */
  filesUnder(prefix: string, pattern?: RegExp): Array<{ path: string; mode: number }> {
    const start = prefix.endsWith('/') ? prefix : `${prefix}/`;
    return this.files.filter((f) => f.path.startsWith(start) && (!pattern || pattern.test(f.path)));
  }

  /** Runs the check `check`: each of `paths` (relative to the section folder) the section does not ship is a `rule` error. */
  requireFiles(check: string, rule: string, paths: string[], message: string): void {
    this.checks.add(check);
    for (const path of paths.map((p) => `${this.section}/${p}`)) if (!existsSync(this.abs(path))) this.add(rule, path, undefined, message);
  }
}

export interface ToolRun {
  status: number;
  output: string;
}

export function runTool(path: string, args: string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): ToolRun {
  const result = spawnSync(path, args, {
    cwd: options.cwd,
    input: options.input,
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C', ...options.env },
    maxBuffer: 1 << 26,
  });
  if (result.error) return { status: -1, output: String(result.error.message) };
  return { status: result.status ?? -1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** The first line number a tool's message mentions (`line 12`, `file:12:3`, `:12`). */
export function lineFromMessage(message: string): number | undefined {
  const m = /\bline (\d+)/i.exec(message) ?? /:(\d+):\d+/.exec(message) ?? /:(\d+)\b/.exec(message);
  return m ? Number(m[1]) : undefined;
}
