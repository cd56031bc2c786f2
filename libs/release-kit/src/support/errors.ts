/**
 * An error a user can act on: it names the file (and line, where one applies) that is wrong
 * and, where there is one, the way to fix it.
 */
export class ReleaseError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
    readonly hint?: string,
  ) {
    super(ReleaseError.format(message, file, line, hint));
    this.name = 'ReleaseError';
  }

  private static format(message: string, file?: string, line?: number, hint?: string): string {
    const where = file ? `${file}${line ? `:${line}` : ''}: ` : '';
    return `${where}${message}${hint ? `\n  hint: ${hint}` : ''}`;
  }
}

/**
 * A file system error (a full disk, a read-only folder, a missing permission) as a ReleaseError
 * naming the path it happened on, or `fallbackPath` when the call had none; anything else as it is.
 */
export function fileSystemError(error: unknown, show: (path: string) => string, fallbackPath: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (error instanceof ReleaseError || typeof e?.code !== 'string' || !e.syscall) return error;
  const reason = e.message.replace(/^[A-Z]+: /, '').split(',')[0];
  return new ReleaseError(
    `cannot ${e.syscall}: ${e.code} (${reason})`,
    show(e.path ?? fallbackPath),
    undefined,
    e.code === 'ENOSPC' ? 'free some space and run it again' : undefined,
  );
}
