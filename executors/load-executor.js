// Nx forks one Node process per task, and loading a TypeScript executor through @swc-node/register
// costs about 0.8 s of that process (it loads the TypeScript compiler). executors.json points here
// instead: each executor is bundled once with esbuild and the bundle is reused until one of its
// source files changes. Plain CommonJS, because it is what loads before anything is compiled.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

const WORKSPACE = join(__dirname, '..');
const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const CACHE = join(WORKSPACE, 'node_modules', '.cache', 'spacetime-executors', sha256(WORKSPACE).slice(0, 16));

/** True when every source file the bundle was made from still has the content it had. */
function upToDate(inputsFile) {
  if (!existsSync(inputsFile)) return false;
  const inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
  return Object.entries(inputs).every(([file, digest]) => existsSync(join(WORKSPACE, file)) && sha256(readFileSync(join(WORKSPACE, file))) === digest);
}

/** Bundled code runs from the cache folder, so each workspace file keeps its own __dirname and __filename. */
const ownLocation = {
  name: 'own-location',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => ({
      loader: 'ts',
      contents: `const __filename = ${JSON.stringify(args.path)}; const __dirname = ${JSON.stringify(dirname(args.path))};\n${readFileSync(args.path, 'utf8')}`,
    }));
  },
};

async function bundle(name, bundleFile, inputsFile) {
  const result = await require('esbuild').build({
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
  });
  const inputs = Object.fromEntries(Object.keys(result.metafile.inputs).map((file) => [file, sha256(readFileSync(join(WORKSPACE, file)))]));
  mkdirSync(CACHE, { recursive: true });
  // Tasks run in parallel: each writes its own temporary files and renames them into place.
  const temporary = `.${process.pid}`;
  writeFileSync(bundleFile + temporary, result.outputFiles[0].contents);
  writeFileSync(inputsFile + temporary, JSON.stringify(inputs));
  renameSync(bundleFile + temporary, bundleFile);
  renameSync(inputsFile + temporary, inputsFile);
}

async function load(name) {
  const bundleFile = join(CACHE, `${name}.js`);
  const inputsFile = join(CACHE, `${name}.inputs.json`);
  if (!upToDate(inputsFile)) await bundle(name, bundleFile, inputsFile);
  return require(bundleFile).default;
}

// esbuild runs plugins only in its asynchronous API, so each executor is a function that loads its bundle first.
for (const name of Object.keys(require('./executors.json').executors)) {
  exports[name] = async (options, context) => (await load(name))(options, context);
}
