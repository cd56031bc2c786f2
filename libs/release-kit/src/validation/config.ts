import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runTool, ValidationContext } from './findings';
import { checkAlertmanager, checkPrometheusConfig, toolFailure } from './monitoring';
import { PATH_KEY, PLACEHOLDER, SECRET_KEY } from './secrets';

export interface EnvEntry {
  key: string;
  value: string;
  line: number;
}

export function parseEnvTemplate(text: string): EnvEntry[] {
  const entries: EnvEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) return;
    entries.push({ key: m[1], value: m[2].replace(/^(["'])(.*)\1$/, '$2'), line: i + 1 });
  });
  return entries;
}

/** Every environment template has the same keys; every secret-like key holds only a placeholder. */
export function checkEnvTemplates(ctx: ValidationContext): void {
  ctx.checks.add('environment templates');
  const templates = ctx.files.filter((f) => /^[^/]+\/[^/]+\/\.env\.template$/.test(f.path)).map((f) => f.path);
  const parsed = templates.map((file) => ({
    file,
    env: file.split('/')[1],
    entries: parseEnvTemplate(readFileSync(ctx.abs(file), 'utf8')),
  }));
  const all = new Map<string, string[]>();
  for (const t of parsed) {
    const seen = new Map<string, number>();
    for (const e of t.entries) {
      if (seen.has(e.key)) ctx.add('config/duplicate-key', t.file, e.line, `${e.key} is defined twice (first at line ${seen.get(e.key)})`);
      seen.set(e.key, e.line);
      if (!all.has(e.key)) all.set(e.key, []);
      if (!all.get(e.key)!.includes(t.env)) all.get(e.key)!.push(t.env);
      checkSecretValue(ctx, t.file, e);
    }
  }
  for (const t of parsed) {
    const keys = new Set(t.entries.map((e) => e.key));
    for (const [key, envs] of all) {
      if (!keys.has(key)) ctx.add('config/env-drift', t.file, undefined, `${t.env} lacks ${key} (defined in ${envs.join(', ')})`);
    }
  }
}

function checkSecretValue(ctx: ValidationContext, file: string, e: EnvEntry): void {
  if (SECRET_KEY.test(e.key) && !PATH_KEY.test(e.key)) {
    if (!PLACEHOLDER.test(e.value))
      ctx.add('config/secret-placeholder', file, e.line, `${e.key} is secret-like but does not hold a <PLACEHOLDER> (value not shown)`);
    return;
  }
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/@\s]*)@/i.exec(e.value);
  if (url && url[1].includes(':')) {
    const password = url[1].slice(url[1].indexOf(':') + 1);
    if (!PLACEHOLDER.test(password))
      ctx.add(
        'config/secret-placeholder',
        file,
        e.line,
        `${e.key} has credentials inside its URL that are not a <PLACEHOLDER> (value not shown)`,
      );
  }
}

/** `nginx -t` on a copy whose certificate, pid and log paths point into a temporary folder. */
export function checkNginx(ctx: ValidationContext, file: string): void {
  const nginx = ctx.tool('nginx', `nginx -t ${file}`);
  if (!nginx) return;
  const openssl = ctx.tool('openssl', 'throwaway certificates for nginx -t');
  if (!openssl) return;
  const dir = join(ctx.temp(), `nginx-${ctx.findings.length}`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const cert = join(dir, 'throwaway.crt');
  const key = join(dir, 'throwaway.key');
  const made = runTool(openssl, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=validate.invalid',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  if (made.status !== 0)
    return ctx.add('nginx/config', file, undefined, `could not make a throwaway certificate: ${made.output.trim().split('\n').pop()}`);
  const text = readFileSync(ctx.abs(file), 'utf8')
    .replace(/^(\s*ssl_certificate\s+)\S+;/gm, `$1${cert};`)
    .replace(/^(\s*ssl_certificate_key\s+)\S+;/gm, `$1${key};`)
    .replace(/^(\s*ssl_(?:trusted|client)_certificate\s+)\S+;/gm, `$1${cert};`)
    .replace(/^(\s*pid\s+)\S+;/gm, `$1${join(dir, 'nginx.pid')};`)
    .replace(/^(\s*(?:error_log|access_log)\s+)\/\S+/gm, (_m, head) => `${head}${join(dir, 'logs', 'log')}`);
  const copy = join(dir, basename(file));
  writeFileSync(copy, text);
  const run = runTool(nginx, ['-t', '-q', '-p', dir, '-c', copy, '-e', join(dir, 'logs', 'error.log')]);
  if (run.status !== 0) toolFailure(ctx, 'nginx/config', file, run.output.replace(/ in [^ ]*:(\d+)/g, ' at line $1'), [copy]);
}

export function validateConfig(ctx: ValidationContext): void {
  const top = ctx.section;
  checkEnvTemplates(ctx);
  for (const f of ctx.files.filter((f) => /\/nginx\.conf$/.test(f.path))) checkNginx(ctx, f.path);
  for (const f of ctx.files.filter((f) => /\/prometheus\.ya?ml$/.test(f.path))) checkPrometheusConfig(ctx, f.path);
  for (const f of ctx.files.filter((f) => /\/alertmanager\.ya?ml$/.test(f.path))) checkAlertmanager(ctx, f.path);
  void top;
}
