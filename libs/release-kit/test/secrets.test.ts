// The secret scan reads every shipped byte: text of any size line by line, binary files' bytes for
// tokens, and the files a section generates or renders at package time.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { entryEpoch } from '../src/format/determinism';
import { packSection } from '../src/section/packer';
import { resolveSectionSources } from '../src/section/sources';
import { findSecrets, findSecretsInFile, SecretScanner } from '../src/validation/secrets';
import { validateSection } from '../src/validation/validate-section';
import { cleanTempDirs, tempDir, writeTree } from './helpers';

// Made up here, in the shapes the rules look for.
const AWS = ['AKIA', 'QX7ZP3K9W2RT5YB4'].join('');
const GITHUB = ['ghp', '_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'].join('');
const KEY_BLOCK = ['-----BEGIN RSA', 'PRIVATE KEY-----'].join(' ');
const MiB = 1 << 20;

const filler = (bytes: number, line = 'an ordinary line of release notes\n') => line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);

test('text finds keep their line numbers as before, one finding per rule and line', () => {
  const found = findSecrets(Buffer.from(`a\nid ${AWS}\n\nurl: postgres://app:s3cr3t-pw@db/app\n${KEY_BLOCK}\nMIIE\n`));
  assert.equal(
    found.map((f) => [f.rule, f.line]),
    [
      ['secrets/cloud-key', 2],
      ['secrets/credentials-in-url', 4],
      ['secrets/private-key', 5],
    ],
  );
  assert.not.ok(JSON.stringify(found).includes(AWS), 'a finding shows the value');
});

test('a text file over the old 4 MiB limit is scanned to its end, across the pieces it is read in', () => {
  const dir = tempDir('secrets-large');
  const file = join(dir, 'notes.md');
  // Lines of 34 bytes: the secret's line straddles the 8 MiB piece boundary.
  const before = filler(8 * MiB - 10);
  const lines = before.split('\n').length;
  writeFileSync(file, `${before}\ntoken ${GITHUB}\n${filler(2 * MiB)}\nlast ${AWS}\n`);
  assert.equal(
    findSecretsInFile(file).map((f) => [f.rule, f.line]),
    [
      ['secrets/token', lines + 1],
      ['secrets/cloud-key', lines + 2 + filler(2 * MiB).split('\n').length],
    ],
  );
});

test('a line longer than the scanner holds is scanned in overlapping pieces, under its own line number', () => {
  const scanner = new SecretScanner();
  scanner.push(Buffer.from('first line\n'));
  const long = 'x '.repeat(9 * MiB);
  scanner.push(Buffer.from(long));
  scanner.push(Buffer.from(` ${AWS} `));
  scanner.push(Buffer.from(`${long}\nthird ${GITHUB}\n`));
  assert.equal(
    scanner.end().map((f) => [f.rule, f.line]),
    [
      ['secrets/cloud-key', 2],
      ['secrets/token', 3],
    ],
  );
});

test('a binary file is scanned for tokens over all its bytes, once each, by byte offset; not for PEM markers', () => {
  const dir = tempDir('secrets-binary');
  const file = join(dir, 'server.bin');
  const body = Buffer.alloc(20 * MiB, 0);
  const at = 8 * MiB - 7; // across the first piece boundary
  body.write(AWS, at, 'latin1');
  body.write(`${KEY_BLOCK}\r\nMIIE`, 12 * MiB, 'latin1'); // a TLS library's compiled-in test key
  body.write(GITHUB, body.length - GITHUB.length, 'latin1'); // at the very end
  writeFileSync(file, body);
  const found = findSecretsInFile(file);
  assert.equal(
    found.map((f) => [f.rule, f.line]),
    [
      ['secrets/cloud-key', undefined],
      ['secrets/token', undefined],
    ],
  );
  assert.match(found[0].message, `at byte ${at}`);
  assert.match(found[1].message, `at byte ${body.length - GITHUB.length}`);
  // A token cut by a piece's end is not a shorter token.
  const scanner = new SecretScanner();
  scanner.push(Buffer.from(`\0${AWS.slice(0, 20)}`));
  scanner.push(Buffer.from('Z'));
  assert.equal(scanner.end(), []);
});

test('generated and rendered files are scanned as they ship, not as their sources are', async () => {
  const ws = tempDir('secrets-generated');
  writeTree(ws, {
    VERSION: '1.2.3\n',
    'libs/sections/tests/src/readme.md': 'Release {{version}}\n',
    // Outside the shipped folder: only the reference generated from it ships.
    'libs/sections/tests/openapi/api.yaml':
      'openapi: 3.0.0\ninfo: { title: t, version: "1", description: "try it with key ' +
      AWS +
      '" }\npaths: { /health: { get: { responses: { "200": { description: ok } } } } }\n',
  });
  const sources = resolveSectionSources({
    workspaceRoot: ws,
    projectRoot: 'libs/sections/tests',
    version: '1.2.3',
    sources: [{ from: 'src', to: '.', render: true }],
    generate: [{ kind: 'openapi-reference', from: 'openapi/api.yaml', to: 'api/API_REFERENCE.md' }],
  });
  const output = join(ws, 'dist/sections/tests');
  await packSection({
    workspaceRoot: ws,
    section: 'tests',
    version: '1.2.3',
    sources,
    skipped: [],
    outputDir: output,
    mtime: entryEpoch(),
  });
  const report = validateSection({
    workspaceRoot: ws,
    sectionOutput: output,
    section: 'tests',
    version: '1.2.3',
    mode: 'development',
    reportDir: join(ws, 'dist/validation/tests'),
  });
  const secrets = report.findings.filter((f) => f.rule.startsWith('secrets/'));
  assert.equal(
    secrets.map((f) => [f.rule, f.file]),
    [['secrets/cloud-key', 'tests/api/API_REFERENCE.md']],
  );
  assert.is(report.passed, false);
});

test.after(cleanTempDirs);
test.run();
