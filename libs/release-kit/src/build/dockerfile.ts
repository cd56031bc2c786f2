import { ReleaseError } from '../support/errors';

/**
 * A Dockerfile read as BuildKit's parser reads it, without building anything: parser directives
 * (`# escape=`), comments, lines continued with the escape character, one instruction per logical
 * line with its first line number, leading `--flag=value` options, the exec (JSON) form; and the
 * shell-like word rules of its arguments: quotes, escapes and `$VAR`, `${VAR}`, `${VAR:-word}`,
 * `${VAR:+word}`, `${VAR-word}`, `${VAR+word}`, `${VAR:?message}` substitution.
 */

export interface DockerfileInstruction {
  /** 1-based line of the keyword. */
  line: number;
  /** Upper case: `COPY`. */
  keyword: string;
  /** `--name=value` options before the arguments (`--name` alone is `true`). */
  flags: Record<string, string | true>;
  /** The arguments after the flags, continuation lines joined. */
  args: string;
  /** The arguments in exec form, when they are a JSON array of strings. */
  json?: string[];
}

export interface Dockerfile {
  /** As the user knows it, for messages. */
  file: string;
  escape: string;
  instructions: DockerfileInstruction[];
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const FLAG = /^--([a-z][a-z-]*)(?:=(\S*))?(?:\s+|$)/;

export function readDockerfile(text: string, file: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  let at = 0;
  for (; at < lines.length; at++) {
    const directive = DIRECTIVE.exec(lines[at]);
    if (!directive) break;
    if (directive[1].toLowerCase() !== 'escape') continue;
    if (directive[2] !== '\\' && directive[2] !== '`')
      throw new ReleaseError(`the escape directive must be \\ or \`, not ${directive[2]}`, { file, line: at + 1 });
    escape = directive[2];
  }
  const continued = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const instructions: DockerfileInstruction[] = [];
  while (at < lines.length) {
    const start = at;
    let logical = lines[at++];
    if (/^\s*(#|$)/.test(logical)) continue;
    while (continued.test(logical) && at < lines.length) {
      logical = logical.replace(continued, '');
      const next = lines[at++];
      if (/^\s*(#|$)/.test(next)) {
        logical += escape; // comments and blank lines inside a continued instruction are dropped
        continue;
      }
      logical += next;
    }
    if (continued.test(logical)) logical = logical.replace(continued, '');
    instructions.push(instruction(logical.trim(), start + 1, file));
  }
  return { file, escape, instructions };
}

function instruction(text: string, line: number, file: string): DockerfileInstruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
  const keyword = m[1].toUpperCase();
  if (!/^[A-Z]+$/.test(keyword)) throw new ReleaseError(`"${m[1]}" is not a Dockerfile instruction`, { file, line });
  let args = m[2];
  const flags: Record<string, string | true> = {};
  for (let flag = FLAG.exec(args); flag; flag = FLAG.exec(args)) {
    flags[flag[1]] = flag[2] ?? true;
    args = args.slice(flag[0].length);
  }
  args = args.trim();
  const result: DockerfileInstruction = { line, keyword, flags, args };
  if (/^\[[\s\S]*\]$/.test(args)) {
    const parsed = jsonStrings(args);
    if (!parsed)
      throw new ReleaseError(`${keyword} ${args}: not a JSON array of strings`, {
        file,
        line,
        hint: 'the exec form is JSON: ["executable", "argument"] with double quotes; without brackets it is the shell form',
      });
    result.json = parsed;
  }
  return result;
}

/** `text` as a JSON array of strings (the exec form), or undefined. */
export function jsonStrings(text: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

/** What `$NAME` stands for while an instruction is read: build arguments and ENV values so far. */
export type Variables = ReadonlyMap<string, string>;

/**
 * The words of `text` (ENV, LABEL, ARG, COPY, EXPOSE, VOLUME arguments): split at unquoted white
 * space, quotes removed, escapes applied, variables substituted; an unquoted substitution is split
 * into words as BuildKit splits it.
 */
export function expandWords(text: string, vars: Variables, escape: string, where: { file: string; line: number }): string[] {
  return new WordReader(text, vars, escape, where, true).read();
}

/** One word (WORKDIR, USER, STOPSIGNAL, FROM): quotes and escapes applied, variables substituted, nothing split. */
export function expandWord(text: string, vars: Variables, escape: string, where: { file: string; line: number }): string {
  return new WordReader(text, vars, escape, where, false).read().join('');
}

class WordReader {
  private at = 0;
  private readonly words: string[] = [];
  private word = '';
  /** Whether the current word has begun (an empty quoted string is a word). */
  private started = false;

  constructor(
    private readonly text: string,
    private readonly vars: Variables,
    private readonly escape: string,
    private readonly where: { file: string; line: number },
    private readonly split: boolean,
  ) {}

  read(): string[] {
    const t = this.text;
    while (this.at < t.length) {
      const c = t[this.at++];
      if (this.split && /\s/.test(c)) this.endWord();
      else if (c === this.escape) this.add(this.at < t.length ? t[this.at++] : c);
      else if (c === "'") this.add(this.until("'"));
      else if (c === '"') this.doubleQuoted();
      else if (c === '$') this.addUnquoted(this.variable());
      else this.add(c);
    }
    this.endWord();
    return this.split ? this.words : [this.words.join('')];
  }

  private add(s: string): void {
    this.word += s;
    this.started = true;
  }

  /** A substitution outside quotes: split into words where it has white space. */
  private addUnquoted(value: string): void {
    if (!this.split) return this.add(value);
    value.split(/(\s+)/).forEach((piece, i) => (i % 2 === 1 ? this.endWord() : piece && this.add(piece)));
  }

  private endWord(): void {
    if (this.started) this.words.push(this.word);
    this.word = '';
    this.started = false;
  }

  private until(quote: string): string {
    const end = this.text.indexOf(quote, this.at);
    if (end < 0) throw this.error(`unmatched ${quote}`);
    const s = this.text.slice(this.at, end);
    this.at = end + 1;
    return s;
  }

  private doubleQuoted(): void {
    const t = this.text;
    let s = '';
    for (;;) {
      if (this.at >= t.length) throw this.error('unmatched "');
      const c = t[this.at++];
      if (c === '"') break;
      if (c === this.escape && ['"', '$', this.escape].includes(t[this.at])) s += t[this.at++];
      else if (c === '$') s += this.variable();
      else s += c;
    }
    this.add(s);
  }

  /** After a `$`: the substitution, or `$` itself when no name follows. */
  private variable(): string {
    const t = this.text;
    if (t[this.at] !== '{') {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(t.slice(this.at))?.[0];
      if (!name) return '$';
      this.at += name.length;
      return this.vars.get(name) ?? '';
    }
    const close = this.matchingBrace();
    const body = t.slice(this.at + 1, close);
    this.at = close + 1;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([\s\S]*))?$/.exec(body);
    if (!m) throw this.error(`\${${body}} is not a substitution this build reads (\${NAME}, \${NAME:-default}, \${NAME:+value})`);
    const [, name, op, word = ''] = m;
    const value = this.vars.get(name);
    const set = op?.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
    const expanded = () => new WordReader(word, this.vars, this.escape, this.where, false).read().join('');
    if (!op) return value ?? '';
    if (op.endsWith('-')) return set ? value! : expanded();
    if (op.endsWith('+')) return set ? expanded() : '';
    if (!set) throw this.error(`${name}: ${expanded() || 'is not set'}`);
    return value!;
  }

  private matchingBrace(): number {
    let depth = 0;
    for (let i = this.at; i < this.text.length; i++) {
      if (this.text[i] === '{') depth += 1;
      else if (this.text[i] === '}' && --depth === 0) return i;
    }
    throw this.error('unmatched ${');
  }

  private error(message: string): ReleaseError {
    return new ReleaseError(`${message} in: ${this.text}`, this.where);
  }
}
