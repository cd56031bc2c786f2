import Ajv from 'ajv';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadReleaseConfig, RELEASE_CONFIG_SCHEMA } from '../src/release-config';
import { cleanTempDirs, tempDir } from './helpers';

test('the release config schema is a valid JSON Schema (loadReleaseConfig compiles it without checking)', () => {
  const ajv = new Ajv();
  assert.ok(ajv.validateSchema(RELEASE_CONFIG_SCHEMA), ajv.errorsText());
});

test('loadReleaseConfig names the file and every problem', () => {
  const file = join(tempDir('release-config'), 'release.config.json');
  writeFileSync(file, JSON.stringify({ sections: 'docs', environments: [], templates: { releaseNotes: 'n.md' } }));
  assert.throws(() => loadReleaseConfig(file, 'libs/release/release.config.json'), (e: Error) => /libs\/release\/release\.config\.json/.test(e.message) && /\/sections must be array/.test(e.message) && /\/environments must NOT have fewer than 1 items/.test(e.message) && /checklist/.test(e.message));
  writeFileSync(file, JSON.stringify({ sections: ['docs'], environments: ['staging'], templates: { releaseNotes: 'n.md', checklist: 'c.md' } }));
  assert.equal(loadReleaseConfig(file).sections, ['docs']);
});

test.after(cleanTempDirs);
test.run();
