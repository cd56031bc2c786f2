// The up-to-date check decides before SBOM.cdx.json, MANIFEST.json, SHA256SUMS and the signature
// are made: these tests change one input of those files at a time and expect a rebuild that shows it.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SBOM_FILE } from '../src/assemble/sbom';
import { buildFixtureRelease, fixtureWorkspace } from './fixture-release';
import { cleanTempDirs } from './helpers';

let ws: string;
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const lock = (version: string) =>
  JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'fixture' }, 'node_modules/yaml': { version, integrity: 'sha512-AAAA' } } });

test.before(() => {
  ws = fixtureWorkspace();
});

test('a second assembly with the same inputs is up to date and writes nothing', async () => {
  const first = await buildFixtureRelease(ws);
  assert.is(first.upToDate, false);
  const archive = sha(first.tarGz);
  const again = await buildFixtureRelease(ws);
  assert.is(again.upToDate, true);
  assert.is(sha(again.tarGz), archive);
  assert.equal(again.manifest, first.manifest, 'the result carries the MANIFEST.json of the package on disk');
});

test('a changed build user (MANIFEST.json only) is a rebuild that records it', async () => {
  const result = await buildFixtureRelease(ws, { BUILD_USER: 'release-bot' });
  assert.is(result.upToDate, false);
  assert.is(result.manifest.build_user, 'release-bot');
  assert.is(JSON.parse(readFileSync(join(result.packageDir, 'MANIFEST.json'), 'utf8')).build_user, 'release-bot');
});

test('a changed npm lockfile (SBOM.cdx.json only) is a rebuild that lists the new version', async () => {
  writeFileSync(join(ws, 'package-lock.json'), lock('2.0.0'));
  assert.is((await buildFixtureRelease(ws, { BUILD_USER: 'release-bot' })).upToDate, false);
  writeFileSync(join(ws, 'package-lock.json'), lock('2.0.1'));
  const result = await buildFixtureRelease(ws, { BUILD_USER: 'release-bot' });
  assert.is(result.upToDate, false);
  assert.match(readFileSync(join(result.packageDir, SBOM_FILE), 'utf8'), 'pkg:npm/yaml@2.0.1');
});

test('a changed SOURCE_DATE_EPOCH (dates and signature) is a rebuild', async () => {
  const result = await buildFixtureRelease(ws, { BUILD_USER: 'release-bot', SOURCE_DATE_EPOCH: '1700000000' });
  assert.is(result.upToDate, false);
  assert.is(result.manifest.build_date, '2023-11-14T22:13:20Z');
  assert.is((await buildFixtureRelease(ws, { BUILD_USER: 'release-bot', SOURCE_DATE_EPOCH: '1700000000' })).upToDate, true);
});

test.after(cleanTempDirs);
test.run();
