import { readFileSync } from 'node:fs';
import { ValidationContext } from './findings';

/** Names of keys that hold secrets; `_PATH` keys hold file paths and are exempt. */
export const SECRET_KEY = /(PASSWORD|PASSWD|SECRET|KEY|TOKEN|CREDENTIALS?)($|_)/i;
export const PATH_KEY = /_PATH$/i;
/** The only value a secret-like key may hold in a shipped template. */
export const PLACEHOLDER = /^<[A-Z0-9_]+>$/;

/** Real-looking secrets, as data: a match is reported by file, line and kind, never by value. */
export const SECRET_PATTERNS: Array<{ rule: string; what: string; pattern: RegExp }> = [
  // The marker ends its line or is followed by key material (an escaped newline inside a string);
  // code that writes the marker itself (an OpenPGP library's armor) is not a key.
  {
    rule: 'secrets/private-key',
    what: 'a private key block',
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:["']?\s*$|\\n(?!["'`]))/,
  },
  { rule: 'secrets/cloud-key', what: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { rule: 'secrets/cloud-key', what: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { rule: 'secrets/token', what: 'a GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/ },
  { rule: 'secrets/token', what: 'a Slack token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  {
    rule: 'secrets/token',
    what: 'a Slack webhook URL',
    pattern: /hooks\.slack\.com\/services\/T[A-Z0-9]{6,}\/B[A-Z0-9]{6,}\/[A-Za-z0-9]{16,}/,
  },
  { rule: 'secrets/token', what: 'a Stripe secret key', pattern: /\b[sr]k_live_[0-9a-zA-Z]{16,}/ },
];

/** `scheme://user:password@host` with a password that is neither a <PLACEHOLDER>, a $VARIABLE nor an obvious example word. */
const URL_CREDENTIALS = /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@<>"'`$]*:([^\s@/"'`]+)@/gi;
const EXAMPLE_PASSWORD =
  /^(?:<[A-Za-z0-9_]+>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|password|passwd|pass|pwd|secret|changeme|example|x+|\*+|\.\.\.)$/i;

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

/** A value assigned to a secret-like key (`KEY=value`, `key: value`, `"key": "value"`) that looks random. */
const ASSIGNMENT =
  /(?:^|[\s{,"'])([A-Za-z0-9_.-]*(?:password|passwd|secret|key|token|credential)[A-Za-z0-9_]*)["']?\s*[:=]\s*["']?([A-Za-z0-9+/=_\-.~]{20,})["']?/i;

function looksRandom(value: string): boolean {
  if (PLACEHOLDER.test(value) || /^[./]/.test(value)) return false;
  // Dotted names and identifiers (ServerConfig.redis_key_prefix, EXCLUDED.password_hash) are code.
  // Random tokens are not: they have a run of digits, or digits scattered through the letters.
  if (
    /^[A-Za-z_][A-Za-z0-9_]*(?:[.-][A-Za-z_][A-Za-z0-9_]*)*$/.test(value) &&
    !/\d{3}/.test(value) &&
    (value.match(/\d+/g)?.length ?? 0) < 4
  )
    return false;
  return /[0-9]/.test(value) && /[A-Za-z]/.test(value) && entropy(value) >= 3.8;
}

const TEXT_LIMIT = 4 << 20;

/** Scans every file of the section for real-looking secrets. */
export function scanSecrets(ctx: ValidationContext): void {
  ctx.checks.add('secret scan');
  for (const { path } of ctx.files) {
    const data = readFileSync(ctx.abs(path));
    if (data.length > TEXT_LIMIT || data.includes(0)) continue;
    const lines = data.toString('utf8').split('\n');
    lines.forEach((line, i) => {
      for (const { rule, what, pattern } of SECRET_PATTERNS) {
        if (pattern.test(line)) ctx.add(rule, path, i + 1, `looks like ${what} (value not shown); ship a <PLACEHOLDER> instead`);
      }
      for (const url of line.matchAll(URL_CREDENTIALS)) {
        if (!EXAMPLE_PASSWORD.test(url[1]))
          ctx.add(
            'secrets/credentials-in-url',
            path,
            i + 1,
            'holds a password inside a URL (value not shown); ship a <PLACEHOLDER> instead',
          );
      }
      const m = ASSIGNMENT.exec(line);
      if (m && !PATH_KEY.test(m[1]) && looksRandom(m[2]))
        ctx.add(
          'secrets/high-entropy',
          path,
          i + 1,
          `${m[1]} holds a random-looking value (value not shown); ship a <PLACEHOLDER> instead`,
        );
    });
  }
}
