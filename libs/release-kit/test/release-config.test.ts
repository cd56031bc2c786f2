import Ajv from 'ajv';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cachedValidator } from '../src/support/cached-validator';
import { loadReleaseConfig, RELEASE_CONFIG_SCHEMA } from '../src/format/release-config';
import { cleanTempDirs, tempDir } from './helpers';

test('the release config schema is a valid JSON Schema (loadReleaseConfig compiles it without checking)', () => {
  const ajv = new Ajv();
  assert.ok(ajv.validateSchema(RELEASE_CONFIG_SCHEMA), ajv.errorsText());
});

test('loadReleaseConfig names the file and every problem', () => {
  const file = join(tempDir('release-config'), 'release.config.json');
  writeFileSync(file, JSON.stringify({ sections: 'docs', environments: [], templates: { releaseNotes: 'n.md' } }));
  assert.throws(
    () => loadReleaseConfig(file, 'libs/release/release.config.json'),
    (e: Error) =>
      /libs\/release\/release\.config\.json/.test(e.message) &&
      /\/sections must be array/.test(e.message) &&
      /\/environments must NOT have fewer than 1 items/.test(e.message) &&
      /checklist/.test(e.message),
  );
  writeFileSync(
    file,
    JSON.stringify({ sections: ['docs'], environments: ['staging'], templates: { releaseNotes: 'n.md', checklist: 'c.md' } }),
  );
  assert.equal(loadReleaseConfig(file).sections, ['docs']);
});

test('a cached validator is compiled once into node_modules/.cache, then loaded from there, and judges as Ajv does', () => {
  // A schema no other run has compiled: its own cache file.
  const schema = {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string', minLength: 2 }, tags: { type: 'array', uniqueItems: true } },
    $comment: randomUUID(),
  };
  const cache = join(dirname(dirname(require.resolve('ajv/package.json'))), '.cache', 'spacetime-validators');
  const before = existsSync(cache) ? new Set(readdirSync(cache)) : new Set<string>();
  const compiled = cachedValidator(schema, { allErrors: true });
  const written = readdirSync(cache).filter((name) => !before.has(name));
  assert.equal(written.length, 1, 'one file for the new schema');
  const file = join(cache, written[0]);
  const mtime = statSync(file).mtimeMs;
  const loaded = cachedValidator(schema, { allErrors: true });
  assert.is(statSync(file).mtimeMs, mtime, 'loaded, not compiled again');
  assert.ok(require.cache[file], 'the second validator is the cached module');
  const reference = new Ajv({ allErrors: true }).compile(schema);
  for (const value of [{ name: 'ok', tags: [1, 2] }, { name: 'x' }, { tags: [1, 1] }, 'not an object', { name: '\u{1f680}\u{1f680}' }]) {
    for (const validate of [compiled, loaded]) {
      assert.is(validate(value), reference(value), JSON.stringify(value));
      assert.equal(validate.errors ?? null, reference.errors ?? null, JSON.stringify(value));
    }
  }
  rmSync(file);
});

test.after(cleanTempDirs);
test.run();
