import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { runTool, ValidationContext } from './findings';

function shebang(ctx: ValidationContext, path: string): string | undefined {
  const head = readFileSync(ctx.abs(path)).subarray(0, 200).toString('utf8');
  return head.startsWith('#!') ? head.split('\n')[0] : undefined;
}

/** bash -n and shellcheck on every shell script, and the executable bit on every script. */
export function checkShellScripts(ctx: ValidationContext): void {
  const scripts = ctx.files.map((f) => ({ ...f, shebang: shebang(ctx, f.path) })).filter((f) => f.shebang || f.path.endsWith('.sh'));
  const shell = scripts.filter((f) => f.path.endsWith('.sh') || /\b(ba|da|k)?sh\b/.test(f.shebang ?? ''));
  if (!scripts.length) return;
  ctx.checks.add('executable bit');
  for (const f of scripts) {
    if (!(f.mode & 0o100))
      ctx.add('scripts/executable', f.path, 1, `is a script (${f.shebang ?? '*.sh'}) but is not executable in the package`);
    if (f.path.endsWith('.sh') && !f.shebang) ctx.add('scripts/shebang', f.path, 1, 'has no #! line');
  }
  if (!shell.length) return;
  const bash = ctx.tool('bash', 'bash -n');
  if (bash) {
    for (const f of shell) {
      const run = runTool(bash, ['-n', ctx.abs(f.path)]);
      if (run.status === 0) continue;
      for (const line of run.output.trim().split('\n').filter(Boolean)) {
        const m = /line (\d+): (.*)$/.exec(line);
        ctx.add('bash/syntax', f.path, m ? Number(m[1]) : undefined, m ? m[2] : line.replace(ctx.abs(f.path), f.path));
      }
    }
  }
  const shellcheck = ctx.tool('shellcheck', 'shellcheck');
  if (shellcheck) {
    const run = runTool(shellcheck, ['-f', 'gcc', '-x', ...shell.map((f) => ctx.abs(f.path))], { cwd: ctx.treeRoot });
    for (const line of run.output.split('\n')) {
      const m = /^(.*?):(\d+):(\d+): (\w+): (.*?) \[(SC\d+)\]$/.exec(line);
      if (m) ctx.add(`shellcheck/${m[6]}`, posix.relative(ctx.treeRoot, m[1]), Number(m[2]), `${m[4]}: ${m[5]}`);
    }
    if (run.status !== 0 && !ctx.findings.some((f) => f.rule.startsWith('shellcheck/')))
      ctx.add('shellcheck/failed', ctx.section, undefined, run.output.trim().split('\n').pop() ?? `exit ${run.status}`);
  }
}

/** Migrations are numbered 001, 002, ... without gaps or duplicates. */
export function checkMigrations(ctx: ValidationContext): void {
  const folders = new Map<string, string[]>();
  for (const f of ctx.files) {
    if (!/\/migrations?\/(?:.*\/)?[^/]+\.sql$/.test(f.path)) continue;
    const dir = posix.dirname(f.path);
    folders.set(dir, [...(folders.get(dir) ?? []), posix.basename(f.path)]);
  }
  if (folders.size) ctx.checks.add('migration numbering');
  for (const [dir, names] of folders) {
    const numbers = new Map<number, string>();
    for (const name of names.sort()) {
      const m = /^(\d{3})_[a-z0-9_]+\.sql$/.exec(name);
      if (!m) {
        ctx.add('migrations/name', `${dir}/${name}`, undefined, 'is not named NNN_description.sql (three digits, lower-case words)');
        continue;
      }
      const n = Number(m[1]);
      if (numbers.has(n)) ctx.add('migrations/duplicate', `${dir}/${name}`, undefined, `has the same number as ${numbers.get(n)}`);
      else numbers.set(n, name);
    }
    const max = Math.max(0, ...numbers.keys());
    for (let n = 1; n <= max; n++) {
      if (!numbers.has(n))
        ctx.add(
          'migrations/gap',
          dir,
          undefined,
          `migration ${String(n).padStart(3, '0')} is missing (the numbers go up to ${String(max).padStart(3, '0')})`,
        );
    }
  }
}
