import * as openpgp from 'openpgp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verifySignature } from '../src/verifier/signature';

const DATA = Buffer.from('0000000000000000000000000000000000000000000000000000000000000000  ./MANIFEST.json\n');

async function key(name: string, subkeys?: openpgp.SubkeyOptions[]) {
  const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name }], subkeys, format: 'object' });
  return privateKey;
}

async function sign(signer: openpgp.PrivateKey, signingKeyIDs?: openpgp.KeyID[]): Promise<string> {
  const message = await openpgp.createMessage({ binary: DATA });
  return (await openpgp.sign({ message, signingKeys: signer, signingKeyIDs, detached: true, format: 'armored' })) as string;
}

/** The attacker's public key with the genuine primary key attached as a subkey, bound by the attacker's key as a signing subkey. */
async function carrying(attacker: openpgp.PrivateKey, genuine: openpgp.PublicKey): Promise<string> {
  const subkey = new openpgp.PublicSubkeyPacket();
  (subkey as unknown as { read(bytes: Uint8Array): void }).read(genuine.keyPacket.write());
  const binding = new openpgp.SignaturePacket();
  binding.signatureType = openpgp.enums.signature.subkeyBinding;
  binding.publicKeyAlgorithm = attacker.keyPacket.algorithm;
  binding.hashAlgorithm = openpgp.enums.hash.sha256;
  (binding as unknown as { keyFlags: number[] }).keyFlags = [openpgp.enums.keyFlags.signData];
  await (binding as unknown as { sign(...args: unknown[]): Promise<void> }).sign(
    attacker.keyPacket,
    { key: attacker.keyPacket, bind: subkey },
    attacker.keyPacket.created,
    false,
    openpgp.config,
  );
  const packets = attacker.toPublic().toPacketList();
  packets.push(subkey as never, binding as never);
  return new openpgp.PublicKey(packets as never).armor();
}

const fp = (k: { getFingerprint(): string }) => k.getFingerprint().toUpperCase();

test('a key that carries the genuine key as a subkey does not satisfy the genuine pin', async () => {
  const genuine = await key('Genuine');
  const attacker = await key('Attacker');
  const crafted = await carrying(attacker, genuine.toPublic());
  const readBack = await openpgp.readKey({ armoredKey: crafted });
  assert.ok(
    readBack.getKeys().some((k) => fp(k) === fp(genuine)),
    'the crafted key carries the genuine fingerprint',
  );
  const signature = await sign(attacker);
  const pinned = await verifySignature(DATA, signature, crafted, fp(genuine));
  assert.is(pinned.valid, false);
  assert.match(pinned.reason!, new RegExp(`made by the key ${fp(attacker)}, which is not the expected ${fp(genuine)}`));
  const unpinned = await verifySignature(DATA, signature, crafted);
  assert.equal([unpinned.valid, unpinned.fingerprint], [true, fp(attacker)], 'without a pin it proves integrity only');
});

test('the pin binds the primary key of the signing subkey, or that very subkey', async () => {
  const signer = await key('Signer', [{}, { sign: true }]);
  const [encryption, signing] = signer.getSubkeys();
  const signature = await sign(signer, [signing.getKeyID()]);
  const armored = signer.toPublic().armor();
  const byPrimary = await verifySignature(DATA, signature, armored, fp(signer));
  assert.equal([byPrimary.valid, byPrimary.fingerprint, byPrimary.signingKey], [true, fp(signer), fp(signing)]);
  assert.is((await verifySignature(DATA, signature, armored, fp(signing))).valid, true);
  const byOther = await verifySignature(DATA, signature, armored, fp(encryption));
  assert.is(byOther.valid, false);
  assert.match(
    byOther.reason!,
    new RegExp(`made by subkey ${fp(signing)} of the key ${fp(signer)}, which is not the expected ${fp(encryption)}`),
  );
});

test('a genuine signature verifies with and without the pin; a pin the key does not carry fails first', async () => {
  const genuine = await key('Genuine');
  const signature = await sign(genuine);
  const armored = genuine.toPublic().armor();
  assert.equal(await verifySignature(DATA, signature, armored, fp(genuine)), {
    valid: true,
    fingerprint: fp(genuine),
    signingKey: fp(genuine),
    userIds: ['Genuine'],
  });
  assert.is((await verifySignature(DATA, signature, armored)).valid, true);
  const other = await verifySignature(DATA, signature, armored, 'AB'.repeat(20));
  assert.is(other.valid, false);
  assert.match(other.reason!, /is not the expected ABAB/);
  assert.is((await verifySignature(Buffer.from('other data'), signature, armored, fp(genuine))).valid, false);
});

test.run();
