import { closeSync, openSync, readSync } from 'node:fs';
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

/**
 * Cheap tests that a line may hold a match, run before the full patterns: most lines of a text
 * (and every line of a large generated JSON document) hold none.
 */
const ANY_PATTERN = new RegExp(SECRET_PATTERNS.map((p) => p.pattern.source).join('|'));
const SECRET_WORD = /password|passwd|secret|key|token|credential/i;

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

/** One real-looking secret: where it is and what it looks like, never its value. */
export interface SecretFinding {
  rule: string;
  /** Its 1-based line in a text file; a binary file's finding names the byte instead. */
  line?: number;
  message: string;
}

/** Files are read in pieces of this size: memory stays flat whatever their size. */
const CHUNK = 8 << 20;
/** A binary piece is scanned with this much of the piece before it, so no token is cut in two. */
const OVERLAP = 4 << 10;
/** A text line longer than this is scanned in pieces (with OVERLAP), not held whole. */
const LONG_LINE = 16 << 20;

/**
 * The patterns a binary file (one with a NUL byte in its first piece) is scanned with, over its raw
 * bytes: tokens and cloud keys. Not private key blocks: TLS libraries compile PEM test keys into
 * every engine binary (Godot's mbedTLS among them), so that rule applies to text files only.
 */
const BINARY_PATTERNS = SECRET_PATTERNS.filter((p) => p.rule !== 'secrets/private-key');
const BINARY_ANY = new RegExp(BINARY_PATTERNS.map((p) => `(${p.pattern.source})`).join('|'), 'gm');
/** The capture group of each binary pattern in BINARY_ANY (a pattern may hold groups of its own). */
const BINARY_GROUPS: number[] = [];
for (let i = 0, group = 1; i < BINARY_PATTERNS.length; group += 1 + groupCount(BINARY_PATTERNS[i].pattern), i++) BINARY_GROUPS.push(group);

function groupCount(pattern: RegExp): number {
  return new RegExp(`${pattern.source}|`).exec('')!.length - 1;
}

/**
 * Finds real-looking secrets in bytes: a text's lines with every rule, a binary's bytes with the
 * token patterns. Pieces are pushed in order; `end` scans what is left and returns every finding.
 */
export class SecretScanner {
  private readonly findings: SecretFinding[] = [];
  private readonly seen = new Set<string>();
  private binary?: boolean;
  /** Text: the unfinished line. Binary: the tail of the last piece, scanned again with the next. */
  private carry = Buffer.alloc(0);
  /** Text: lines finished so far. Binary: the file offset of carry's first byte. */
  private position = 0;
  /** Text: the unfinished line was cut (too long) and its next piece keeps its line number. */
  private continuing = false;

  push(piece: Buffer): void {
    if (piece.length === 0) return;
    this.binary ??= piece.includes(0);
    const data = this.carry.length ? Buffer.concat([this.carry, piece]) : piece;
    if (this.binary) {
      this.scanBinary(data.toString('latin1'), false);
      const keep = Math.min(OVERLAP, data.length);
      this.position += data.length - keep;
      this.carry = Buffer.from(data.subarray(data.length - keep));
      return;
    }
    const cut = data.lastIndexOf(0x0a);
    if (cut >= 0) {
      this.scanLines(data.subarray(0, cut).toString('utf8'));
      this.carry = Buffer.from(data.subarray(cut + 1));
      return;
    }
    this.carry = Buffer.from(data);
    if (this.carry.length > LONG_LINE) {
      if (!this.continuing) this.position += 1;
      this.continuing = true;
      this.scanLine(this.carry.toString('utf8'), this.position);
      this.carry = Buffer.from(this.carry.subarray(this.carry.length - OVERLAP));
    }
  }

  end(): SecretFinding[] {
    if (this.binary) this.scanBinary(this.carry.toString('latin1'), true);
    else if (this.carry.length) this.scanLines(this.carry.toString('utf8'));
    this.carry = Buffer.alloc(0);
    return this.findings;
  }

  private add(rule: string, line: number | undefined, message: string): void {
    const key = `${rule}\0${line}\0${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push({ rule, line, message });
  }

  private scanLines(text: string): void {
    for (const line of text.split('\n')) {
      if (this.continuing) this.continuing = false;
      else this.position += 1;
      this.scanLine(line, this.position);
    }
  }

  private scanLine(line: string, n: number): void {
    if (ANY_PATTERN.test(line)) {
      for (const { rule, what, pattern } of SECRET_PATTERNS) {
        if (pattern.test(line)) this.add(rule, n, `looks like ${what} (value not shown); ship a <PLACEHOLDER> instead`);
      }
    }
    if (line.includes('://')) {
      for (const url of line.matchAll(URL_CREDENTIALS)) {
        if (!EXAMPLE_PASSWORD.test(url[1]))
          this.add('secrets/credentials-in-url', n, 'holds a password inside a URL (value not shown); ship a <PLACEHOLDER> instead');
      }
    }
    if (!SECRET_WORD.test(line)) return;
    const m = ASSIGNMENT.exec(line);
    if (m && !PATH_KEY.test(m[1]) && looksRandom(m[2]))
      this.add('secrets/high-entropy', n, `${m[1]} holds a random-looking value (value not shown); ship a <PLACEHOLDER> instead`);
  }

  /** A match that ends where the piece ends may go on in the next piece, which scans it again. */
  private scanBinary(text: string, final: boolean): void {
    for (const m of text.matchAll(BINARY_ANY)) {
      if (!final && m.index + m[0].length === text.length) continue;
      const which = BINARY_GROUPS.findIndex((group) => m[group] !== undefined);
      const { rule, what } = BINARY_PATTERNS[which];
      this.add(rule, undefined, `looks like ${what} at byte ${this.position + m.index} (value not shown); remove it before it ships`);
    }
  }
}

/** Real-looking secrets in bytes held in memory (a file of the Helm chart). */
export function findSecrets(data: Buffer): SecretFinding[] {
  const scanner = new SecretScanner();
  scanner.push(data);
  return scanner.end();
}

/** Real-looking secrets in a file of any size, read in pieces. */
export function findSecretsInFile(file: string): SecretFinding[] {
  const scanner = new SecretScanner();
  const fd = openSync(file, 'r');
  try {
    const piece = Buffer.allocUnsafe(CHUNK);
    for (let n; (n = readSync(fd, piece, 0, CHUNK, null)) > 0;) scanner.push(piece.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return scanner.end();
}

/**
 * Scans every byte of every file of the section for real-looking secrets, whatever its size: the
 * files copied from the sources, the rendered and the generated ones (staged from the package).
 */
export function scanSecrets(ctx: ValidationContext): void {
  ctx.checks.add('secret scan');
  for (const { path } of ctx.files) {
    for (const finding of findSecretsInFile(ctx.abs(path))) ctx.add(finding.rule, path, finding.line, finding.message);
  }
}
