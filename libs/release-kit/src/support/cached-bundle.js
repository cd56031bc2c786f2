// An esbuild bundle kept in node_modules/.cache and reused while every file it was made from still
// has the content it had. Plain CommonJS: executors/load-executor.js needs it before any TypeScript
// can be loaded.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** What decides a bundle's bytes besides its inputs: esbuild's version and the file that holds the build options. */
function bundleKey(optionsFile) {
  return `${require('esbuild/package.json').version} ${sha256(readFileSync(optionsFile))}`;
}

/** Where `name` is cached for the workspace at `workspace` (bundles of two workspaces never mix). */
function bundlePath(workspace, name) {
  return join(workspace, 'node_modules', '.cache', 'spacetime-bundles', sha256(workspace).slice(0, 16), name);
}

/** The cached bundle, when it was made with `key` from files that are all unchanged; else undefined. */
function freshBundle(workspace, file, key) {
  const inputsFile = `${file}.inputs.json`;
  if (!existsSync(inputsFile) || !existsSync(file)) return undefined;
  const { key: madeWith, inputs } = JSON.parse(readFileSync(inputsFile, 'utf8'));
  if (madeWith !== key) return undefined;
  const unchanged = Object.entries(inputs).every(
    ([input, digest]) => existsSync(join(workspace, input)) && sha256(readFileSync(join(workspace, input))) === digest,
  );
  return unchanged ? file : undefined;
}

/**
 * Stores the output of an esbuild build made with `metafile: true, write: false` and returns its path.
 * Parallel builders each write their own temporary files and rename them: the bundle first, so
 * that an inputs list never describes an older bundle.
 */
function storeBundle(workspace, file, key, result) {
  const inputs = Object.fromEntries(
    Object.keys(result.metafile.inputs).map((input) => [input, sha256(readFileSync(join(workspace, input)))]),
  );
  mkdirSync(join(file, '..'), { recursive: true });
  const temporary = `.${process.pid}.partial`;
  writeFileSync(file + temporary, result.outputFiles[0].contents);
  writeFileSync(`${file}.inputs.json${temporary}`, JSON.stringify({ key, inputs }));
  renameSync(file + temporary, file);
  renameSync(`${file}.inputs.json${temporary}`, `${file}.inputs.json`);
  return file;
}

module.exports = { bundleKey, bundlePath, freshBundle, storeBundle };
