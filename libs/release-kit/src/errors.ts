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
