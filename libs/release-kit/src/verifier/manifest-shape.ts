import { Manifest } from '../format/manifest';
import { PACKAGE_NAME } from '../format/layout';
import { stableJsonBytes } from '../support/stable-json';
import { showName, unsafeEntryName } from './entry-name';
import { isObject, shapeChecker } from './json-shape';

const SECTION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SHA256 = /^[0-9a-f]{64}$/;
const MODE = /^0[0-7]{3}$/;
const FINGERPRINT = /^([0-9A-F]{40}|[0-9A-F]{64})$/;
const SIGNING_MODES = ['development', 'openpgp', 'gpg'];
const CONFIGURATIONS = ['development', 'production'];

const isCount = (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * MANIFEST.json parsed and checked for the shape the assembler writes, before anything reads it:
 * every field of the right type, file paths safe and listed once, section names listed once, the
 * configuration and signing mode known and consistent, and the bytes in the assembler's canonical
 * JSON form (sorted keys, no duplicate key, two-space indent, trailing newline). Each problem is a
 * failure naming the field; the manifest is returned only when there is none.
 */
export function parseManifest(data: Buffer, fail: (line: string) => void): Manifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (e) {
    fail(`MANIFEST.json: not valid JSON (${(e as Error).message.split('\n')[0]})`);
    return undefined;
  }
  const { problems, problem, expect, flush } = shapeChecker('MANIFEST.json');
  const isString = (v: unknown) => typeof v === 'string';

  if (!expect('(top level)', value, isObject, 'an object')) {
    problems.forEach(fail);
    return undefined;
  }
  const manifest = value as Record<string, unknown>;
  expect('name', manifest.name, (v) => v === PACKAGE_NAME, `"${PACKAGE_NAME}"`);
  expect('version', manifest.version, (v) => typeof v === 'string' && v.length > 0 && !unsafeEntryName(v) && !v.includes('/'), 'a version');
  for (const field of ['build_date', 'git_commit', 'git_branch', 'build_user']) expect(field, manifest[field], isString, 'a string');
  expect('git_dirty', manifest.git_dirty, (v) => typeof v === 'boolean', 'true or false');
  expect('configuration', manifest.configuration, (v) => CONFIGURATIONS.includes(v as string), '"development" or "production"');
  if (expect('signing', manifest.signing, isObject, 'an object')) {
    const signing = manifest.signing as Record<string, unknown>;
    const modeKnown = expect('signing.mode', signing.mode, (v) => SIGNING_MODES.includes(v as string), SIGNING_MODES.join(', '));
    expect(
      'signing.fingerprint',
      signing.fingerprint,
      (v) => typeof v === 'string' && FINGERPRINT.test(v),
      'an upper-case hex fingerprint',
    );
    if (expect('signing.development', signing.development, (v) => typeof v === 'boolean', 'true or false') && modeKnown)
      if (signing.development !== (signing.mode === 'development'))
        problem('signing.development', `is ${signing.development}, but signing.mode is "${signing.mode}"`);
  }
  if (expect('sections', manifest.sections, Array.isArray, 'a list')) {
    const names = new Set<string>();
    (manifest.sections as unknown[]).forEach((section, i) => {
      const at = `sections[${i}]`;
      if (!expect(at, section, isObject, 'an object')) return;
      const s = section as Record<string, unknown>;
      if (expect(`${at}.name`, s.name, (v) => typeof v === 'string' && SECTION_NAME.test(v), 'a section name')) {
        if (names.has(s.name as string)) problem(`${at}.name`, `"${s.name}" is listed twice`);
        names.add(s.name as string);
      }
      expect(`${at}.files`, s.files, isCount, 'a count');
      expect(`${at}.bytes`, s.bytes, isCount, 'a count');
      expect(`${at}.metadata`, s.metadata, isObject, 'an object');
    });
  }
  if (expect('files', manifest.files, Array.isArray, 'a list')) {
    const paths = new Set<string>();
    (manifest.files as unknown[]).forEach((file, i) => {
      const at = `files[${i}]`;
      if (!expect(at, file, isObject, 'an object')) return;
      const f = file as Record<string, unknown>;
      if (expect(`${at}.path`, f.path, (v) => typeof v === 'string' && v.length > 0 && !unsafeEntryName(v), 'a safe relative path')) {
        if (paths.has(f.path as string)) problem(`${at}.path`, `"${showName(f.path as string)}" is listed twice`);
        paths.add(f.path as string);
      }
      expect(`${at}.size`, f.size, isCount, 'a byte count');
      expect(`${at}.sha256`, f.sha256, (v) => typeof v === 'string' && SHA256.test(v), 'a lower-case hex SHA-256');
      expect(`${at}.mode`, f.mode, (v) => typeof v === 'string' && MODE.test(v), 'an octal mode such as "0644"');
    });
  }
  if (expect('tools', manifest.tools, isObject, 'an object'))
    for (const [tool, version] of Object.entries(manifest.tools as object)) expect(`tools.${tool}`, version, isString, 'a string');
  if (expect('skipped', manifest.skipped, Array.isArray, 'a list'))
    (manifest.skipped as unknown[]).forEach((skip, i) => {
      if (!expect(`skipped[${i}]`, skip, isObject, 'an object')) return;
      expect(`skipped[${i}].artifact`, (skip as Record<string, unknown>).artifact, isString, 'a string');
      expect(`skipped[${i}].reason`, (skip as Record<string, unknown>).reason, isString, 'a string');
    });
  if (!problems.length && !isCanonical(value, data))
    problems.push(
      'MANIFEST.json: is not in the canonical form the assembler writes (sorted keys, each once, two-space indent, a trailing newline)',
    );

  flush(fail);
  return problems.length ? undefined : (value as unknown as Manifest);
}

/** Whether `data` is the very bytes the assembler writes for `value` (false too for a value nested too deep to write). */
function isCanonical(value: unknown, data: Buffer): boolean {
  try {
    return stableJsonBytes(value).equals(data);
  } catch {
    return false;
  }
}
