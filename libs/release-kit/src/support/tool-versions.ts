import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The versions of what decides the package's bytes; recorded in MANIFEST.json. */
export function toolVersions(): Record<string, string> {
  return {
    'release-kit': JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version,
    openpgp: packageVersion('openpgp'),
    tar: packageVersion('tar'),
    zlib: process.versions.zlib,
  };
}

/** A dependency's version, from the package.json above its entry point. */
function packageVersion(name: string): string {
  for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8'));
    if (json.name === name) return json.version;
  }
  throw new Error(`cannot find the version of ${name}`);
}
