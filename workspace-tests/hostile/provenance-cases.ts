// Hostile provenance attestations beside the genuine package: envelopes that are not one JSON line,
// not DSSE or too large; signatures by another key or over other bytes; statements re-signed by
// the genuine key whose shape is wrong or whose claims disagree with the package; and the options
// that tighten the check.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as openpgp from 'openpgp';
import { pae, PAYLOAD_TYPE } from '../../libs/release-kit/src/format/provenance';
import { CaseFolders, HostileCase, PUBLIC_KEY } from './corpus';
import { makeKey } from './package-cases';

export interface ProvenanceCaseKeys {
  /** The genuine (development) private key, armored: what signed the genuine attestation. */
  genuinePrivateKey: string;
}

type Target = 'folder' | 'tar.gz' | 'zip';

export async function provenanceCases(folders: CaseFolders, keys: ProvenanceCaseKeys): Promise<HostileCase[]> {
  const { release, top } = folders.genuine;
  const attestationName = `${top}.intoto.jsonl`;
  const genuineLine = readFileSync(join(release, attestationName), 'utf8');
  const genuine = JSON.parse(genuineLine);
  const statement = JSON.parse(Buffer.from(genuine.payload, 'base64').toString('utf8'));
  const genuineKey = await openpgp.readPrivateKey({ armoredKey: keys.genuinePrivateKey });
  const fingerprint = genuineKey.getFingerprint().toUpperCase();
  const attacker = await makeKey('SpaceTime VR release signing key');
  const cases: HostileCase[] = [];
  const at = new RegExp(`provenance: ${attestationName.replace(/\./g, '\\.')}`);

  /** The DSSE envelope line of `payload`, signed by `key` (the genuine key unless given). */
  const envelope = async (payload: Buffer, key = genuineKey, edit: (e: any) => void = () => undefined) => {
    const message = await openpgp.createMessage({ binary: pae(PAYLOAD_TYPE, payload) });
    const sig = (await openpgp.sign({ message, signingKeys: key, detached: true, format: 'binary' })) as Uint8Array;
    const e = {
      payload: payload.toString('base64'),
      payloadType: PAYLOAD_TYPE,
      signatures: [{ keyid: key.getFingerprint().toUpperCase(), sig: Buffer.from(sig).toString('base64') }],
    };
    edit(e);
    return `${JSON.stringify(e)}\n`;
  };
  /** The genuine statement edited, signed by the genuine key. */
  const claims = (edit: (s: any) => unknown) => {
    const s = JSON.parse(JSON.stringify(statement));
    const replaced = edit(s);
    return envelope(Buffer.from(JSON.stringify(replaced === undefined ? s : replaced)));
  };
  /** A case folder holding the genuine `target` with `attestation` beside it (a string, or made by `place`). */
  const add = (
    name: string,
    attestation: string | Buffer | ((file: string) => void),
    expected: RegExp,
    target: Target = 'zip',
    args: string[] = [],
  ) => {
    const path =
      target === 'folder'
        ? folders.packageFolder(`provenance ${name}`)
        : folders.archive(`provenance ${name}`, target, readFileSync(join(release, `${top}.${target}`)));
    const file = join(dirname(path), attestationName);
    if (typeof attestation === 'function') attestation(file);
    else writeFileSync(file, attestation);
    cases.push({ kind: 'provenance', name, args: [path, ...args], expected });
  };

  // ------------------------------------------------------------------ the file and its envelope
  add('not JSON', 'this is not an attestation\n', /is not valid JSON/);
  add('two JSON lines', genuineLine + genuineLine, /is not one JSON line/);
  add('no line end', genuineLine.trimEnd(), /is not one JSON line/);
  add('empty', '', /is not one JSON line/);
  add('a 2 MiB line', `${'A'.repeat(2 << 20)}\n`, /is 2097153 bytes, more than an attestation holds/);
  add('a folder, not a file', (file) => mkdirSync(file), /is not a regular file/);
  add('a link to /dev/zero', (file) => symlinkSync('/dev/zero', file), /is not a regular file/);
  add('a list, not an envelope', '[]\n', /\(envelope\) is a list, not an object/);
  const envelopeCases: Array<[string, (e: any) => void, RegExp]> = [
    ['another payloadType', (e) => (e.payloadType = 'application/json'), /payloadType is the string "application\/json", not/],
    ['no payloadType', (e) => delete e.payloadType, /payloadType is missing/],
    ['a payload that is not base64', (e) => (e.payload = '%%% not base64 %%%'), /payload is the string "%%% not base64 %%%", not base64/],
    ['a numeric payload', (e) => (e.payload = 12345), /payload is number 12345, not base64/],
    ['no signatures', (e) => (e.signatures = []), /signatures is a list, not a list of one signature/],
    ['signatures an object', (e) => (e.signatures = e.signatures[0]), /signatures is an object, not a list of one signature/],
    [
      'a signature that is not base64',
      (e) => (e.signatures[0].sig = 'not base64!'),
      /signatures\[0\]\.sig is the string "not base64!", not base64/,
    ],
    ['a keyid that is a number', (e) => (e.signatures[0].keyid = 42), /signatures\[0\]\.keyid is number 42, not a key fingerprint/],
    [
      'a signature of random bytes',
      (e) => (e.signatures[0].sig = Buffer.alloc(64, 7).toString('base64')),
      /is not signed by release-signing-key\.asc/,
    ],
  ];
  for (const [name, edit, expected] of envelopeCases) {
    const e = JSON.parse(genuineLine);
    edit(e);
    add(name, `${JSON.stringify(e)}\n`, expected);
  }

  // ------------------------------------------------------------------ signatures
  const payload = Buffer.from(genuine.payload, 'base64');
  const attackerLine = await envelope(payload, attacker.privateKey);
  add('signed by another key, the genuine key beside', attackerLine, /is not signed by release-signing-key\.asc/);
  add(
    'the payload changed, the genuine signature kept',
    (() => {
      const e = JSON.parse(genuineLine);
      e.payload = Buffer.from(payload.toString('utf8').replace('"local:', '"https://ci.example.com/evil/')).toString('base64');
      return `${JSON.stringify(e)}\n`;
    })(),
    /is not signed by release-signing-key\.asc/,
  );
  add(
    'the genuine key pinned, another key beside and signing',
    (file) => {
      // SHA256SUMS.asc then fails too: the expected line is the attestation's own.
      writeFileSync(join(dirname(file), PUBLIC_KEY), attacker.publicKey);
      writeFileSync(file, attackerLine);
    },
    new RegExp(
      `${at.source} is not signed by release-signing-key\\.asc \\(the key's fingerprint [0-9A-F]+ is not the expected ${fingerprint}\\)`,
    ),
    'zip',
    ['--fingerprint', fingerprint],
  );
  add(
    'a keyid that is not the signer',
    await envelope(payload, genuineKey, (e) => (e.signatures[0].keyid = 'ABCDEF')),
    /names the key "ABCDEF", not [0-9A-F]{40}, which signed it/,
  );

  // ------------------------------------------------------------------ statements re-signed by the genuine key
  add('a payload that is not JSON', await envelope(Buffer.from('{"_type": ')), /its payload is not valid JSON/);
  add('a payload of null', await envelope(Buffer.from('null')), /\(statement\) is null, not an object/);
  add(
    'a payload nested 100000 deep',
    await envelope(Buffer.from(`${'['.repeat(100000)}${']'.repeat(100000)}`)),
    /its payload is not valid JSON|\(statement\) is a list/,
  );
  add(
    'the v0.1 statement type',
    await claims((s) => void (s._type = 'https://in-toto.io/Statement/v0.1')),
    /_type is the string "https:\/\/in-toto\.io\/Statement\/v0\.1", not "https:\/\/in-toto\.io\/Statement\/v1"/,
  );
  add(
    'the SLSA v0.2 predicate type',
    await claims((s) => void (s.predicateType = 'https://slsa.dev/provenance/v0.2')),
    /predicateType is the string "https:\/\/slsa\.dev\/provenance\/v0\.2"/,
  );
  add(
    'another build type',
    await claims((s) => void (s.predicate.buildDefinition.buildType = 'https://example.com/other')),
    /predicate\.buildDefinition\.buildType is the string "https:\/\/example\.com\/other"/,
  );
  add('no runDetails', await claims((s) => void delete s.predicate.runDetails), /predicate\.runDetails\.builder\.id is missing/);
  add(
    'no externalParameters',
    await claims((s) => void delete s.predicate.buildDefinition.externalParameters),
    /predicate\.buildDefinition\.externalParameters\.version is missing/,
  );
  add(
    'subject a string',
    await claims((s) => void (s.subject = 'everything')),
    /subject is the string "everything", not a list of subjects/,
  );
  add(
    'a subject digest in upper case',
    await claims((s) => void (s.subject[0].digest.sha256 = s.subject[0].digest.sha256.toUpperCase())),
    /subject\[0\]\.digest\.sha256 is the string "[0-9A-F]+/,
  );
  add('100000 empty subjects', await claims((s) => void (s.subject = new Array(100000).fill({}))), /199980 more problems of its shape/);
  add(
    'two source commits',
    await claims((s) => void s.predicate.buildDefinition.resolvedDependencies.push({ digest: { gitCommit: 'f'.repeat(40) } })),
    /resolvedDependencies name 2 source commits, not one/,
  );
  const commitOf = (s: any) => s.predicate.buildDefinition.resolvedDependencies.find((d: any) => d.digest?.gitCommit).digest;
  add(
    'a commit MANIFEST.json does not name',
    await claims((s) => void (commitOf(s).gitCommit = 'f'.repeat(40))),
    /names commit f{40}, MANIFEST\.json [0-9a-f]{40}/,
    'folder',
  );
  add(
    'a commit that is no commit',
    await claims((s) => void (commitOf(s).gitCommit = 'HEAD')),
    /the source's digest\.gitCommit is the string "HEAD", not a commit/,
  );
  add(
    'another version',
    await claims((s) => void (s.predicate.buildDefinition.externalParameters.version = '9.9.9')),
    /is for version 9\.9\.9, MANIFEST\.json for 2\.5\.0/,
    'tar.gz',
  );
  add(
    'the production configuration claimed',
    await claims((s) => void (s.predicate.buildDefinition.externalParameters.configuration = 'production')),
    /says configuration production, MANIFEST\.json development/,
  );
  const subject = (s: any, name: string) => s.subject.find((x: any) => x.name === name);
  add(
    'another .zip digest',
    await claims((s) => void (subject(s, `${top}.zip`).digest.sha256 = '0'.repeat(64))),
    new RegExp(`${top}\\.zip does not match its digest in ${attestationName}`),
  );
  add(
    'another SHA256SUMS digest',
    await claims((s) => void (subject(s, `${top}/SHA256SUMS`).digest.sha256 = '0'.repeat(64))),
    /SHA256SUMS does not match its digest/,
    'folder',
  );
  add(
    'SHA256SUMS not attested',
    await claims((s) => void (s.subject = s.subject.filter((x: any) => !x.name.endsWith('/SHA256SUMS')))),
    new RegExp(`does not attest ${top}/SHA256SUMS`),
  );
  add(
    'the .tar.gz not attested',
    await claims((s) => void (s.subject = s.subject.filter((x: any) => !x.name.endsWith('.tar.gz')))),
    new RegExp(`does not attest ${top}\\.tar\\.gz`),
    'tar.gz',
  );
  add(
    'a file the package does not hold',
    await claims((s) => void s.subject.push({ name: `${top}/binaries/evil.bin`, digest: { sha256: '0'.repeat(64) } })),
    new RegExp(`attests ${top}/binaries/evil\\.bin, which the package does not hold`),
  );

  // ------------------------------------------------------------------ the archive, and the options that tighten the check
  add(
    'a tampered .zip, its genuine attestation beside',
    genuineLine,
    new RegExp(`${top}\\.zip does not match its digest in ${attestationName}`),
  );
  const tampered = cases[cases.length - 1].args[0];
  const bytes = readFileSync(tampered);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(tampered, bytes);
  add(
    '--require-provenance, no attestation',
    (file) => void file,
    /is missing beside the package; --require-provenance needs it/,
    'tar.gz',
    ['--require-provenance'],
  );
  add('--expect-commit of another commit', genuineLine, /names commit [0-9a-f]{40}, not the expected 0{40}/, 'zip', [
    '--expect-commit',
    '0'.repeat(40),
  ]);
  add(
    '--expect-builder of another builder',
    genuineLine,
    /names the builder \S+, not the expected https:\/\/github\.com\/studio\/game/,
    'folder',
    ['--expect-builder', 'https://github.com/studio/game/.github/workflows/release.yml@refs/tags/v2.5.0'],
  );
  return cases;
}
