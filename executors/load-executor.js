// Nx forks one Node process per task, and loading a TypeScript executor through @swc-node/register
// costs a large part of that process (it loads the TypeScript compiler). executors.json points here
// instead: each executor is bundled with esbuild, and the bundle is reused until one of its source
// files changes. Plain CommonJS, because it is what loads before anything is compiled.
'use strict';
const { readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { bundleKey, bundlePath, freshBundle, storeBundle } = require('../libs/release-kit/src/support/cached-bundle');

const WORKSPACE = join(__dirname, '..');
const KEY = bundleKey(__filename);

/** Bundled code runs from the cache folder, so each workspace file keeps its own __dirname and __filename. */
const ownLocation = {
  name: 'own-location',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => ({
      loader: 'ts',
      contents:
        `const __filename = ${JSON.stringify(args.path)}; const __dirname = ${JSON.stringify(dirname(args.path))};\n` +
        readFileSync(args.path, 'utf8'),
    }));
  },
};

async function load(name) {
  const file = bundlePath(WORKSPACE, `executor-${name}.js`);
  const bundle =
    freshBundle(WORKSPACE, file, KEY) ??
    storeBundle(
      WORKSPACE,
      file,
      KEY,
      // esbuild runs plugins only in its asynchronous API.
      await require('esbuild').build({
        entryPoints: [join(__dirname, name, 'executor.ts')],
        absWorkingDir: WORKSPACE,
        tsconfig: join(WORKSPACE, 'tsconfig.base.json'),
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        packages: 'external',
        plugins: [ownLocation],
        metafile: true,
        write: false,
        logLevel: 'silent',
      }),
    );
  return require(bundle).default;
}

for (const name of Object.keys(require('./executors.json').executors)) {
  exports[name] = async (options, context) => (await load(name))(options, context);
}
