/** An entry name as one printable line: control characters and invalid bytes escaped. */
export function showName(name: string): string {
  return JSON.stringify(name).slice(1, -1);
}

/**
 * Why an archive entry name is unsafe to extract, or undefined: absolute, `..`, a backslash or
 * drive letter (a separator elsewhere), an empty part, a control character.
 */
export function unsafeEntryName(name: string): string | undefined {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'an absolute path';
  if (name.includes('\\')) return 'a backslash in its name';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a control character in its name';
  const parts = name.replace(/\/$/, '').split('/');
  if (parts.includes('..')) return 'a ".." part';
  if (parts.some((p) => p === '' || p === '.')) return 'an empty or "." part';
  return undefined;
}
