import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Options, ValidateFunction } from 'ajv';

/**
 * A JSON Schema validator that Ajv compiles once per schema, options and Ajv version, and keeps as
 * its standalone code in node_modules/.cache/spacetime-validators: loading Ajv and compiling the
 * schema would be part of every release:assemble's start. The schema is not checked
 * against the JSON Schema meta-schema (the unit tests do that). Where the cache cannot be written,
 * the validator is compiled in memory, as it would be without the cache.
 */
export function cachedValidator<T>(schema: object, options: Pick<Options, 'allErrors'> = {}): ValidateFunction<T> {
  const ajvPackage = require.resolve('ajv/package.json');
  const key = createHash('sha256')
    .update(JSON.stringify([require(ajvPackage).version, options, schema]))
    .digest('hex')
    .slice(0, 16);
  const file = join(dirname(dirname(ajvPackage)), '.cache', 'spacetime-validators', `${key}.js`);
  if (existsSync(file)) return require(file);
  const { default: Ajv } = require('ajv') as typeof import('ajv');
  const { default: standaloneCode } = require('ajv/dist/standalone') as typeof import('ajv/dist/standalone');
  const ajv = new Ajv({ ...options, validateSchema: false, code: { source: true } });
  const validate = ajv.compile<T>(schema);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, standaloneCode(ajv, validate));
    renameSync(partial, file);
  } catch {
    // A read-only node_modules: the next process compiles it again.
  }
  return validate;
}
