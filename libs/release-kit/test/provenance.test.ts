// The provenance attestation beside the archives: an in-toto Statement with a SLSA Provenance v1
// predicate in a DSSE envelope, written by release:assemble and checked by verify-release.mjs.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import * as openpgp from 'openpgp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AssembleResult } from '../src/assemble/assemble';
import { builderId, provenanceStatement, signedAttestation } from '../src/assemble/provenance';
import { resolveSigner, Signer } from '../src/assemble/signing';
import type { SectionFragment } from '../src/format/fragment';
import { Envelope, pae, PAYLOAD_TYPE, Statement } from '../src/format/provenance';
import { sha256 } from '../src/support/digest';
import { assembleFixture, buildFixtureRelease, fixtureWorkspace, git } from './fixture-release';
import { cleanTempDirs, tempDir, tool } from './helpers';

const schema = (name: string) => JSON.parse(readFileSync(join(__dirname, 'schemas', name), 'utf8'));
const statementSchema = schema('in-toto-statement-v1.schema.json');
const provenanceSchema = schema('slsa-provenance-v1.schema.json');
const keysOf = (ws: string) => ({ XDG_CONFIG_HOME: join(ws, '..', `${ws.split('/').pop()}-keys`) });
const envelopeOf = (result: AssembleResult): Envelope => JSON.parse(readFileSync(result.attestation, 'utf8'));
const statementOf = (result: AssembleResult): Statement => JSON.parse(Buffer.from(envelopeOf(result).payload, 'base64').toString('utf8'));

/** A fixture workspace whose origin remote carries a token, as a CI checkout's does. */
function workspaceWithRemote(): string {
  const ws = fixtureWorkspace();
  git(ws, 'remote', 'add', 'origin', 'https://ci-token:s3cr3t-t0ken@git.example.com/studio/spacetime-vr.git');
  return ws;
}

/** Runs the verify-release.mjs the assembly wrote beside the archives. */
function verifier(result: AssembleResult, ...args: string[]) {
  const run = spawnSync(process.execPath, [result.verifier, ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, output: run.stdout + run.stderr };
}

/** Replaces the attestation beside `result` with `statement`, signed by `signer`; returns the undo. */
async function resign(result: AssembleResult, statement: Statement, signer: Signer): Promise<() => void> {
  const before = readFileSync(result.attestation);
  writeFileSync(result.attestation, await signedAttestation(statement, signer, new Date()));
  return () => writeFileSync(result.attestation, before);
}

test('the attestation is a signed in-toto Statement v1 whose SLSA Provenance v1 predicate validates against both schemas', async () => {
  const ws = workspaceWithRemote();
  const result = await buildFixtureRelease(ws);
  const line = readFileSync(result.attestation, 'utf8');
  assert.is(line.indexOf('\n'), line.length - 1, 'one JSON line');
  const envelope = envelopeOf(result);
  assert.is(envelope.payloadType, 'application/vnd.in-toto+json');
  assert.is(envelope.signatures.length, 1);
  assert.is(envelope.signatures[0].keyid, result.manifest.signing.fingerprint);

  // The DSSE signature is an OpenPGP signature over the pre-authentication encoding.
  const payload = Buffer.from(envelope.payload, 'base64');
  const expectedPae = Buffer.concat([Buffer.from(`DSSEv1 ${PAYLOAD_TYPE.length} ${PAYLOAD_TYPE} ${payload.length} `), payload]);
  assert.ok(pae(PAYLOAD_TYPE, payload).equals(expectedPae));
  const { signatures } = await openpgp.verify({
    message: await openpgp.createMessage({ binary: expectedPae }),
    signature: await openpgp.readSignature({ binarySignature: Buffer.from(envelope.signatures[0].sig, 'base64') }),
    verificationKeys: await openpgp.readKey({ armoredKey: readFileSync(result.publicKey, 'utf8') }),
  });
  await signatures[0].verified;

  const statement = statementOf(result);
  const ajv = new Ajv({ allErrors: true });
  ajv.addSchema(statementSchema);
  const validate = ajv.compile(provenanceSchema);
  assert.ok(validate(statement), ajv.errorsText(validate.errors));
  assert.ok(ajv.validate(statementSchema.$id, statement), ajv.errorsText());
  // The schemas are not vacuous: what the specifications require is missing, they fail.
  const broken = JSON.parse(JSON.stringify(statement));
  delete broken.predicate.runDetails.builder.id;
  delete broken.subject[0].digest;
  broken.predicate.buildDefinition.externalParameters = {};
  assert.not.ok(validate(broken));
  assert.equal([...new Set(validate.errors!.map((e) => e.instancePath))].sort(), [
    '/predicate/buildDefinition/externalParameters',
    '/predicate/runDetails/builder',
    '/subject/0',
  ]);

  const { externalParameters, internalParameters, resolvedDependencies } = statement.predicate.buildDefinition;
  assert.equal(externalParameters, { configuration: 'development', target: 'release:assemble:development', version: '1.2.3' });
  assert.equal(internalParameters.signing, { ...result.manifest.signing });
  assert.equal(resolvedDependencies, [
    {
      name: 'source',
      uri: 'git+https://git.example.com/studio/spacetime-vr.git',
      digest: { gitCommit: git(ws, 'rev-parse', 'HEAD').trim() },
    },
  ]);
  assert.not.match(line + payload.toString(), /s3cr3t|ci-token/, 'no credential of the remote URL');
  assert.is(statement.predicate.runDetails.builder.id, 'local:local-build');
  assert.is(statement.predicate.runDetails.metadata.startedOn, result.manifest.build_date);
});

test('its subjects are the .tar.gz, the .zip and SHA256SUMS, by SHA-256', async () => {
  const result = await buildFixtureRelease(fixtureWorkspace());
  const file = (path: string) => sha256(readFileSync(path));
  assert.equal(statementOf(result).subject, [
    { name: 'spacetime-vr-v1.2.3.tar.gz', digest: { sha256: file(result.tarGz) } },
    { name: 'spacetime-vr-v1.2.3.zip', digest: { sha256: file(result.zip) } },
    { name: 'spacetime-vr-v1.2.3/SHA256SUMS', digest: { sha256: file(join(result.packageDir, 'SHA256SUMS')) } },
  ]);
});

test('the image tarball is a subject; the lockfile, Godot and the base image are resolved dependencies', () => {
  const fragment = (section: string, metadata: Record<string, unknown>, path: string) =>
    ({ section, metadata, files: [{ path, sha256: 'c'.repeat(64) }] }) as unknown as SectionFragment;
  const statement = provenanceStatement({
    top: 'spacetime-vr-v2.5.0',
    version: '2.5.0',
    production: true,
    target: 'release:assemble:production',
    builderId: 'https://github.com/studio/game/.github/workflows/release.yml@refs/tags/v2.5.0',
    buildDate: 1700000000,
    git: { commit: 'a'.repeat(40), branch: 'HEAD', commitTime: 0, dirty: false, commitsSincePreviousTag: [] },
    signing: { mode: 'openpgp', fingerprint: 'F'.repeat(40) },
    skipped: [],
    tools: { zlib: '1.3' },
    fragments: [
      fragment('binaries', { godot: { version: '4.5.stable.official' } }, 'binaries/spacetime-server'),
      fragment(
        'binaries',
        {
          image: {
            tarball: 'spacetime-vr-2.5.0.tar.gz',
            base: { name: 'debian:bookworm-slim', id: `sha256:${'b'.repeat(64)}`, repoDigests: [`debian@sha256:${'d'.repeat(64)}`] },
          },
        },
        'binaries/spacetime-vr-2.5.0.tar.gz',
      ),
    ],
    archives: { 'spacetime-vr-v2.5.0.tar.gz': '1'.repeat(64), 'spacetime-vr-v2.5.0.zip': '2'.repeat(64) },
    checksums: '3'.repeat(64),
    npmLock: '4'.repeat(64),
  });
  assert.equal(statement.subject.slice(2), [
    { name: 'spacetime-vr-v2.5.0/SHA256SUMS', digest: { sha256: '3'.repeat(64) } },
    { name: 'spacetime-vr-v2.5.0/binaries/spacetime-vr-2.5.0.tar.gz', digest: { sha256: 'c'.repeat(64) } },
  ]);
  assert.equal(statement.predicate.buildDefinition.resolvedDependencies.slice(1), [
    { name: 'package-lock.json', digest: { sha256: '4'.repeat(64) } },
    { name: 'godot', uri: 'pkg:generic/godot@4.5.stable.official' },
    {
      name: 'debian:bookworm-slim',
      digest: { sha256: 'b'.repeat(64) },
      annotations: { baseImage: true, repoDigests: [`debian@sha256:${'d'.repeat(64)}`] },
    },
  ]);
  assert.equal(statement.predicate.buildDefinition.internalParameters.signing.development, false);
  assert.is(statement.predicate.runDetails.metadata.startedOn, '2023-11-14T22:13:20Z');
});

test('the builder id names the CI workflow, else local:<build user>: never the machine or its user', () => {
  const github = { GITHUB_ACTIONS: 'true', GITHUB_WORKFLOW_REF: 'studio/game/.github/workflows/release.yml@refs/tags/v2.5.0' };
  assert.is(builderId(github, 'ci-system'), 'https://github.com/studio/game/.github/workflows/release.yml@refs/tags/v2.5.0');
  assert.is(
    builderId({ ...github, GITHUB_SERVER_URL: 'https://github.example.com' }, 'ci-system'),
    'https://github.example.com/studio/game/.github/workflows/release.yml@refs/tags/v2.5.0',
  );
  const gitlab = { GITLAB_CI: 'true', CI_PROJECT_URL: 'https://gitlab.com/studio/game', CI_CONFIG_PATH: '.gitlab-ci.yml' };
  assert.is(
    builderId({ ...gitlab, CI_COMMIT_TAG: 'v2.5.0' }, 'ci-system'),
    'https://gitlab.com/studio/game/.gitlab-ci.yml@refs/tags/v2.5.0',
  );
  assert.is(
    builderId({ ...gitlab, CI_COMMIT_REF_NAME: 'main' }, 'ci-system'),
    'https://gitlab.com/studio/game/.gitlab-ci.yml@refs/heads/main',
  );
  assert.is(builderId({ USER: 'alice', HOSTNAME: 'alice-laptop' }, 'local-build'), 'local:local-build');
  assert.is(builderId({}, 'release bot'), 'local:release%20bot');
});

test('two assemblies of the same commit, in two places, give the same attestation bytes; another builder is a rebuild', async () => {
  const ws = workspaceWithRemote();
  const first = await buildFixtureRelease(ws, { SOURCE_DATE_EPOCH: '1700000000' });
  const copy = join(tempDir('copy'), 'elsewhere');
  cpSync(ws, copy, { recursive: true });
  rmSync(join(copy, 'dist/release'), { recursive: true });
  const second = await assembleFixture(copy, { ...keysOf(ws), SOURCE_DATE_EPOCH: '1700000000' });
  assert.is(second.upToDate, false);
  assert.ok(readFileSync(second.attestation).equals(readFileSync(first.attestation)), 'the same bytes');

  const github = { GITHUB_ACTIONS: 'true', GITHUB_WORKFLOW_REF: 'studio/game/.github/workflows/release.yml@refs/tags/v1.2.3' };
  const ci = await assembleFixture(ws, { SOURCE_DATE_EPOCH: '1700000000', ...github });
  assert.is(ci.upToDate, false, 'the builder id is part of what the outputs are made of');
  assert.is(statementOf(ci).predicate.runDetails.builder.id, `https://github.com/${github.GITHUB_WORKFLOW_REF}`);
  assert.ok(readFileSync(ci.tarGz).equals(readFileSync(first.tarGz)), 'the archives do not change');
});

test('verify-release.mjs fails a tampered archive, a tampered attestation, another key, a commit MANIFEST.json does not name', async () => {
  const ws = fixtureWorkspace();
  const result = await buildFixtureRelease(ws);
  const genuine = await resolveSigner(keysOf(ws));
  const other = await resolveSigner({ XDG_CONFIG_HOME: tempDir('other-key') });
  const statement = statementOf(result);
  for (const target of [result.packageDir, result.tarGz, result.zip]) {
    const run = verifier(result, target, '--require-provenance');
    assert.is(run.status, 0, run.output);
    assert.match(run.stdout, /; provenance: built by local:local-build from commit [0-9a-f]{40};/);
  }

  const cases: Array<[string, () => Promise<() => void>, string, RegExp]> = [
    [
      'a tampered archive',
      async () => {
        const before = readFileSync(result.zip);
        const after = Buffer.from(before);
        after[after.length - 30] ^= 0xff;
        writeFileSync(result.zip, after);
        return () => writeFileSync(result.zip, before);
      },
      result.zip,
      /^FAIL spacetime-vr-v1\.2\.3\.zip: provenance: spacetime-vr-v1\.2\.3\.zip does not match its digest in spacetime-vr-v1\.2\.3\.intoto\.jsonl/m,
    ],
    [
      'a tampered attestation',
      async () => {
        const before = readFileSync(result.attestation);
        const envelope = envelopeOf(result);
        const changed = { ...statement, predicate: { ...statement.predicate, runDetails: { ...statement.predicate.runDetails } } };
        changed.predicate.runDetails.builder = { ...changed.predicate.runDetails.builder, id: 'https://github.com/studio/game/x.yml' };
        envelope.payload = Buffer.from(JSON.stringify(changed)).toString('base64');
        writeFileSync(result.attestation, `${JSON.stringify(envelope)}\n`);
        return () => writeFileSync(result.attestation, before);
      },
      result.packageDir,
      /^FAIL provenance: spacetime-vr-v1\.2\.3\.intoto\.jsonl is not signed by release-signing-key\.asc/m,
    ],
    [
      'an attestation signed by another key',
      () => resign(result, statement, other),
      result.tarGz,
      /^FAIL spacetime-vr-v1\.2\.3\.tar\.gz: provenance: spacetime-vr-v1\.2\.3\.intoto\.jsonl is not signed by release-signing-key\.asc/m,
    ],
    [
      'a commit that MANIFEST.json does not name (signed by the genuine key)',
      () => {
        const changed = JSON.parse(JSON.stringify(statement));
        changed.predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit = 'f'.repeat(40);
        return resign(result, changed, genuine);
      },
      result.packageDir,
      new RegExp(
        `^FAIL provenance: spacetime-vr-v1\\.2\\.3\\.intoto\\.jsonl names commit f{40}, MANIFEST\\.json ${result.manifest.git_commit}`,
        'm',
      ),
    ],
    [
      'no attestation, --require-provenance',
      async () => {
        const before = readFileSync(result.attestation);
        rmSync(result.attestation);
        return () => writeFileSync(result.attestation, before);
      },
      result.packageDir,
      /^FAIL provenance: spacetime-vr-v1\.2\.3\.intoto\.jsonl is missing beside the package; --require-provenance needs it/m,
    ],
  ];
  for (const [name, tamper, target, expected] of cases) {
    const undo = await tamper();
    const run = verifier(result, target, '--require-provenance');
    assert.is(run.status, 1, `${name}: ${run.output}`);
    assert.match(run.stdout, expected, name);
    assert.not.match(run.output, /^\s+at |internal error/m, `${name}: no stack trace`);
    undo();
  }
  rmSync(result.attestation);
  const without = verifier(result, result.zip);
  assert.is(without.status, 0, 'a package without an attestation still verifies');
  assert.match(without.stdout, /; no provenance attestation beside it;/);
});

test('--expect-commit and --expect-builder pin the claims; --json reports what was checked', async () => {
  const ws = fixtureWorkspace();
  const result = await buildFixtureRelease(ws);
  const commit = git(ws, 'rev-parse', 'HEAD').trim();
  assert.is(verifier(result, result.tarGz, '--expect-commit', commit.toUpperCase(), '--expect-builder', 'local:local-build').status, 0);
  const wrong = verifier(result, result.tarGz, '--expect-commit', 'e'.repeat(40), '--expect-builder', 'local:ci');
  assert.is(wrong.status, 1);
  assert.match(wrong.stdout, new RegExp(`^FAIL .*names commit ${commit}, not the expected e{40}$`, 'm'));
  assert.match(wrong.stdout, /^FAIL .*names the builder local:local-build, not the expected local:ci$/m);
  assert.is(verifier(result, result.tarGz, '--expect-commit', 'abc123').status, 2, 'a short commit is a usage error');

  const report = JSON.parse(verifier(result, result.tarGz, '--json').stdout);
  assert.is(report.verified, true);
  assert.equal(
    { ...report.provenance, subjects: report.provenance.subjects.map((s: { name: string; result: string }) => `${s.name} ${s.result}`) },
    {
      file: 'spacetime-vr-v1.2.3.intoto.jsonl',
      signedBy: result.manifest.signing.fingerprint,
      builder: 'local:local-build',
      commit,
      version: '1.2.3',
      configuration: 'development',
      subjects: ['spacetime-vr-v1.2.3.tar.gz matches', 'spacetime-vr-v1.2.3.zip elsewhere', 'spacetime-vr-v1.2.3/SHA256SUMS matches'],
    },
  );
});

test('signed through gpg (GPG_KEY_ID), the attestation verifies under the key pin', async () => {
  const home = tempDir('gnupg');
  const gpg = (...args: string[]) => tool('gpg', ['--homedir', home, '--batch', ...args]);
  gpg(
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    '',
    '--quick-gen-key',
    'Release <release@example.invalid>',
    'ed25519',
    'sign',
    'never',
  );
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(gpg('--with-colons', '--fingerprint', '--list-secret-keys'))![1];
  process.env.GNUPGHOME = home;
  try {
    const result = await buildFixtureRelease(fixtureWorkspace(), { GPG_KEY_ID: fingerprint });
    assert.is(envelopeOf(result).signatures[0].keyid, fingerprint);
    const run = verifier(result, result.zip, '--require-provenance', '--fingerprint', fingerprint);
    assert.is(run.status, 0, run.output);
    assert.match(run.stdout, /; provenance: built by local:local-build from commit/);
  } finally {
    delete process.env.GNUPGHOME;
  }
});

test.after(cleanTempDirs);
test.run();
