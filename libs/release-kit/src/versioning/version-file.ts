import { readFileSync } from 'node:fs';
// The two functions, not the package index: every task process reads VERSION, and the index loads all of semver.
import parse from 'semver/functions/parse';
import prerelease from 'semver/functions/prerelease';
import { ReleaseError } from '../support/errors';

/** Reads the release version: one SemVer 2.0.0 line, nothing else. */
export function readVersion(versionFile: string): string {
  let text: string;
  try {
    text = readFileSync(versionFile, 'utf8');
  } catch {
    throw new ReleaseError('the VERSION file is missing', {
      file: versionFile,
      hint: 'write the release version into it, e.g. `echo 2.5.0 > VERSION`',
    });
  }
  return parseVersionText(text, versionFile);
}

/** The content of a VERSION file: one SemVer line (as readVersion, for text from an Nx Tree). */
export function parseVersionText(text: string, source = 'VERSION'): string {
  const lines = text.split('\n');
  if (lines.length > 2 || (lines.length === 2 && lines[1] !== ''))
    throw new ReleaseError('VERSION must hold exactly one line', { file: source, line: 2 });
  return parseVersion(lines[0].replace(/\r$/, ''), source);
}

export function parseVersion(text: string, source = 'VERSION'): string {
  const version = text.trim();
  if (version !== text || !/^\d/.test(version) || parse(version) === null) {
    throw new ReleaseError(`"${printable(text)}" is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], semver.org 2.0.0)`, {
      file: source,
      line: 1,
    });
  }
  return version;
}

export function isPrerelease(version: string): boolean {
  return prerelease(version) !== null;
}

function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}
