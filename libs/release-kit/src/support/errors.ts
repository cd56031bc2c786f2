/**
 * An error a user can act on: it names the file (and line, where one applies) that is wrong
 * and, where there is one, the way to fix it.
 */
export class ReleaseError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly hint?: string;

  constructor(message: string, where: ReleaseErrorPlace = {}) {
    super(ReleaseError.format(message, where));
    this.name = 'ReleaseError';
    Object.assign(this, where);
  }

  private static format(message: string, { file, line, hint }: ReleaseErrorPlace): string {
    const where = file ? `${file}${line ? `:${line}` : ''}: ` : '';
    return `${where}${message}${hint ? `\n  hint: ${hint}` : ''}`;
  }
}

/** Where a ReleaseError is, and how to fix it. */
export interface ReleaseErrorPlace {
  /** The file that is wrong, as the user knows it (workspace-relative where it can be). */
  file?: string;
  /** Its 1-based line, where one applies. */
  line?: number;
  /** What to do about it. */
  hint?: string;
}

/**
 * A file system error (a full disk, a read-only folder, a missing permission) as a ReleaseError
 * naming the path it happened on, or `fallbackPath` when the call had none; anything else as it is.
 */
export function fileSystemError(error: unknown, show: (path: string) => string, fallbackPath: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (error instanceof ReleaseError || typeof e?.code !== 'string' || !e.syscall) return error;
  const reason = e.message.replace(/^[A-Z]+: /, '').split(',')[0];
  return new ReleaseError(`cannot ${e.syscall}: ${e.code} (${reason})`, {
    file: show(e.path ?? fallbackPath),
    hint: e.code === 'ENOSPC' ? 'free some space and run it again' : undefined,
  });
}
