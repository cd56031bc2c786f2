import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AssembleResult } from '../src/assemble/assemble';
import { resolveSigner } from '../src/assemble/signing';
import { formatSha256Sums } from '../src/format/checksums';
import { sha256 } from '../src/support/digest';
import { stableJsonBytes } from '../src/support/stable-json';
import { verifyPackage } from '../src/verifier/verify-package';
import { verifyRelease } from '../src/verifier/verify-release';
import { buildFixtureRelease, FIXTURE_SECTIONS, fixtureWorkspace } from './fixture-release';
import { cleanTempDirs, tempDir, tool } from './helpers';

async function verify(result: AssembleResult) {
  return verifyRelease({
    packageDir: result.packageDir,
    sections: FIXTURE_SECTIONS,
    publicKeyFile: result.publicKey,
    tarGz: result.tarGz,
    zip: result.zip,
  });
}

test('a fresh build verifies, and sha256sum -c agrees', async () => {
  const result = await buildFixtureRelease(fixtureWorkspace());
  const report = await verify(result);
  assert.equal(report.failures, []);
  assert.is(report.version, '1.2.3');
  assert.match(tool('sha256sum', ['-c', 'SHA256SUMS'], result.packageDir), /\.\/beta\/server\.bin: OK/);
});

test('the manifest records every file, the sections and the git commit', async () => {
  const ws = fixtureWorkspace();
  const result = await buildFixtureRelease(ws);
  const manifest = JSON.parse(readFileSync(join(result.packageDir, 'MANIFEST.json'), 'utf8'));
  assert.is(manifest.name, 'spacetime-vr');
  assert.is(manifest.git_commit, tool('git', ['rev-parse', 'HEAD'], ws).trim());
  assert.is(manifest.signing.development, true);
  assert.equal(
    manifest.sections.map((s: { name: string }) => s.name),
    FIXTURE_SECTIONS,
  );
  assert.equal(manifest.files.map((f: { path: string }) => f.path).sort(), [
    'DEPLOYMENT_CHECKLIST.md',
    'RELEASE_NOTES.md',
    'SBOM.cdx.json',
    'alpha/deep/empty.txt',
    'alpha/deep/run.sh',
    'alpha/readme.md',
    'beta/image.tar.gz',
    'beta/notes/a.txt',
    'beta/server.bin',
  ]);
  assert.match(
    readFileSync(join(result.packageDir, 'RELEASE_NOTES.md'), 'utf8'),
    /# Release 1\.2\.3\n\n## Commits in this release\n\n- [0-9a-f]+ fixture\n/,
  );
});

test('every tampering is detected', async () => {
  const result = await buildFixtureRelease(fixtureWorkspace());
  const dir = result.packageDir;
  const original = (path: string) => readFileSync(join(dir, path));
  const cases: Array<[string, () => () => void, RegExp]> = [
    ['a flipped byte', () => flip(join(dir, 'beta/server.bin')), /SHA256SUMS: \.\/beta\/server\.bin does not match/],
    ['an extra file', () => add(join(dir, 'alpha/extra.txt')), /SHA256SUMS: \.\/alpha\/extra\.txt is not listed/],
    [
      'a removed file',
      () => remove(join(dir, 'beta/notes/a.txt'), original('beta/notes/a.txt')),
      /\.\/beta\/notes\/a\.txt is listed but missing/,
    ],
    [
      'a changed mode',
      () => mode(join(dir, 'alpha/deep/run.sh'), 0o644, 0o755),
      /alpha\/deep\/run\.sh has mode 0644, the manifest says 0755/,
    ],
    [
      'an edited signature',
      () =>
        replace(
          join(dir, 'SHA256SUMS.asc'),
          original('SHA256SUMS.asc')
            .toString()
            .replace(/\n([A-Za-z0-9+/])/, (_m, c) => `\n${c === 'A' ? 'B' : 'A'}`),
        ),
      /signature: SHA256SUMS\.asc is not a valid signature/,
    ],
  ];
  for (const [name, tamper, expected] of cases) {
    const undo = tamper();
    const report = await verify(result);
    assert.ok(
      report.failures.some((f) => expected.test(f)),
      `${name}: ${report.failures.join(' | ')}`,
    );
    undo();
    assert.equal((await verify(result)).failures, [], `${name} undone`);
  }
});

test('a signature by another key fails against the published key', async () => {
  const result = await buildFixtureRelease(fixtureWorkspace());
  const other = await resolveSigner({ XDG_CONFIG_HOME: tempDir('other-key') });
  writeFileSync(
    join(result.packageDir, 'SHA256SUMS.asc'),
    await other.sign(readFileSync(join(result.packageDir, 'SHA256SUMS')), new Date()),
  );
  const report = await verify(result);
  assert.ok(
    report.failures.some((f) => f.startsWith('signature:')),
    report.failures.join(' | '),
  );
});

test('an archive that disagrees with the folder fails', async () => {
  const result = await buildFixtureRelease(fixtureWorkspace());
  const zip = readFileSync(result.zip);
  zip[zip.length - 30] ^= 0xff;
  writeFileSync(result.zip, zip);
  writeFileSync(result.tarGz, readFileSync(result.tarGz).subarray(0, 1000));
  const failures = (await verify(result)).failures.join('\n');
  assert.match(failures, /^spacetime-vr-v1\.2\.3\.tar\.gz: cannot be read/m);
  assert.match(failures, /^spacetime-vr-v1\.2\.3\.zip: /m);
});

function flip(file: string) {
  const before = readFileSync(file);
  const after = Buffer.from(before);
  after[after.length >> 1] ^= 0x01;
  writeFileSync(file, after);
  return () => writeFileSync(file, before);
}
function add(file: string) {
  writeFileSync(file, 'extra');
  return () => rmSync(file);
}
function remove(file: string, content: Buffer) {
  rmSync(file);
  return () => writeFileSync(file, content, { mode: 0o644 });
}
function mode(file: string, to: number, from: number) {
  chmodSync(file, to);
  return () => chmodSync(file, from);
}
function replace(file: string, content: string) {
  const before = readFileSync(file);
  writeFileSync(file, content);
  return () => writeFileSync(file, before);
}

test.after(cleanTempDirs);
test('--require-production fails a development package re-signed with the development key as if it were production', async () => {
  const ws = fixtureWorkspace();
  const result = await buildFixtureRelease(ws);
  const folder = result.packageDir;
  const manifest = JSON.parse(readFileSync(join(folder, 'MANIFEST.json'), 'utf8'));
  manifest.configuration = 'production';
  manifest.signing = { ...manifest.signing, mode: 'openpgp', development: false };
  writeFileSync(join(folder, 'MANIFEST.json'), stableJsonBytes(manifest));
  const listed = [...manifest.files, { path: 'MANIFEST.json', sha256: sha256(readFileSync(join(folder, 'MANIFEST.json'))) }];
  const sums = Buffer.from(formatSha256Sums(listed));
  writeFileSync(join(folder, 'SHA256SUMS'), sums);
  // The same development key the build used (fixture-release keeps it beside the workspace).
  const signer = await resolveSigner({ XDG_CONFIG_HOME: join(ws, '..', `${ws.split('/').pop()}-keys`) });
  writeFileSync(join(folder, 'SHA256SUMS.asc'), await signer.sign(sums, new Date()));
  // The attestation beside it, signed at assembly, still tells the truth.
  const attested = await verifyPackage(folder, 'folder', { keyFile: result.publicKey });
  assert.ok(
    attested.failures.some((f) => /^provenance: .* says configuration development, MANIFEST\.json production$/.test(f)),
    attested.failures.join('\n'),
  );
  rmSync(result.attestation);
  const plain = await verifyPackage(folder, 'folder', { keyFile: result.publicKey });
  assert.equal(plain.failures, [], 'without it, the forged claims verify as far as integrity goes');
  const strict = await verifyPackage(folder, 'folder', { keyFile: result.publicKey, requireProduction: true });
  assert.equal(strict.failures.length, 1, strict.failures.join('\n'));
  assert.match(strict.failures[0], /signature: made by a development signing key .*--require-production accepts only a release key/);
});

test.run();
