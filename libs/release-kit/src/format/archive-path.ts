import { ReleaseError } from '../support/errors';

const MAX_COMPONENT_BYTES = 255;
const MAX_PATH_BYTES = 4096;
// Characters that Windows cannot extract from the zip, plus every control character.
const UNSAFE_CHARACTER = /[\u0000-\u001f\u007f\\:*?"<>|]/;

/**
 * Checks that a package-relative path can be archived and extracted the same way everywhere:
 * UTF-8, relative, no `.`/`..` parts, no control or Windows-reserved characters, sane lengths.
 * `origin` names the source file the path came from, for the error.
 */
export function assertArchivablePath(relativePath: string, origin: string): void {
  const fail = (why: string) => {
    throw new ReleaseError(`cannot be archived safely: ${why}`, { file: origin, hint: 'rename the file' });
  };
  if (relativePath.includes('\ufffd')) fail('its name is not valid UTF-8');
  if (relativePath.startsWith('/')) fail('it is an absolute path');
  if (Buffer.byteLength(relativePath) > MAX_PATH_BYTES) fail(`its path is longer than ${MAX_PATH_BYTES} bytes`);
  for (const part of relativePath.split('/')) {
    if (part === '' || part === '.' || part === '..') fail(`"${JSON.stringify(relativePath).slice(1, -1)}" has an empty, "." or ".." part`);
    const bad = UNSAFE_CHARACTER.exec(part);
    if (bad) fail(`its name contains the character ${JSON.stringify(bad[0])}`);
    if (/[ .]$/.test(part)) fail('a name ends with a space or a dot');
    if (Buffer.byteLength(part) > MAX_COMPONENT_BYTES) fail(`a name is longer than ${MAX_COMPONENT_BYTES} bytes`);
  }
}
