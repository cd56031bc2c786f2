import { buildSync } from 'esbuild';
import { join } from 'node:path';

/** Where the verifier's entry point is, and the workspace it is bundled from. */
const ENTRY = join(__dirname, 'verifier', 'cli.ts');
const WORKSPACE = join(__dirname, '..', '..', '..');

/**
 * The standalone verifier as one ES module for Node.js 20+, with openpgp, tar and yauzl inside.
 * Byte-deterministic: fixed options, paths in comments relative to the workspace, and symlinked
 * node_modules (workspace copies) kept as they are rather than resolved to where they point.
 */
export function bundleVerifier(): Buffer {
  const result = buildSync({
    entryPoints: [ENTRY],
    absWorkingDir: WORKSPACE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    preserveSymlinks: true,
    write: false,
    charset: 'utf8',
    legalComments: 'inline',
    logLevel: 'silent',
    // CommonJS dependencies (yauzl) call require(); an ES module has to make one.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __verifierRequire } from 'node:module';\nconst require = __verifierRequire(import.meta.url);" },
  });
  return Buffer.from(result.outputFiles[0].contents);
}

export const VERIFIER_FILE = 'verify-release.mjs';
