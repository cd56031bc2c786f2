import type * as Esbuild from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleKey, bundlePath, freshBundle, storeBundle } from '../support/cached-bundle';

/** Where the verifier's entry point is, and the workspace it is bundled from. */
const ENTRY = join(__dirname, 'cli.ts');
const WORKSPACE = join(__dirname, '..', '..', '..', '..');

/**
 * The standalone verifier as one ES module for Node.js 20+, with openpgp and tar's header encoder inside.
 * Byte-deterministic: fixed options, paths in comments relative to the workspace, and symlinked
 * node_modules (workspace copies) kept as they are rather than resolved to where they point.
 * Cached: it is rebuilt only when one of its source files, this file or esbuild changes.
 */
export function bundleVerifier(): Buffer {
  const file = bundlePath(WORKSPACE, VERIFIER_FILE);
  const key = bundleKey(__filename);
  return readFileSync(freshBundle(WORKSPACE, file, key) ?? storeBundle(WORKSPACE, file, key, build()));
}

function build() {
  // Loaded only to rebuild: most runs find the bundle cached.
  const { buildSync } = require('esbuild') as typeof Esbuild;
  return buildSync({
    entryPoints: [ENTRY],
    absWorkingDir: WORKSPACE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    preserveSymlinks: true,
    write: false,
    metafile: true,
    charset: 'utf8',
    legalComments: 'inline',
    logLevel: 'silent',
    // A CommonJS dependency calls require(); an ES module has to make one.
    banner: {
      js:
        '#!/usr/bin/env node\n' +
        "import { createRequire as __verifierRequire } from 'node:module';\n" +
        'const require = __verifierRequire(import.meta.url);',
    },
  });
}

export const VERIFIER_FILE = 'verify-release.mjs';
