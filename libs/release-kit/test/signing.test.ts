import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { developmentKeyPath, resolveSigner } from '../src/assemble/signing';
import { ReleaseError } from '../src/support/errors';
import { verifySignature } from '../src/verifier/signature';
import { cleanTempDirs, tempDir, tool } from './helpers';

const data = Buffer.from('0123  ./x\n');

test('the development key is made once, outside the workspace, readable by its owner only', async () => {
  const env = { XDG_CONFIG_HOME: tempDir('config') };
  const first = await resolveSigner(env);
  const second = await resolveSigner(env);
  assert.is(first.mode, 'development');
  assert.is(first.fingerprint, second.fingerprint);
  assert.is(statSync(developmentKeyPath(env)).mode & 0o777, 0o600);
});

test('a signature is reproducible and GnuPG verifies it', async () => {
  const signer = await resolveSigner({ XDG_CONFIG_HOME: tempDir('config') });
  const date = new Date('2026-01-02T03:04:05Z');
  const signature = await signer.sign(data, date);
  assert.is(await signer.sign(data, date), signature);
  assert.ok((await verifySignature(data, signature, signer.publicKey)).valid);
  assert.not.ok((await verifySignature(Buffer.from('tampered'), signature, signer.publicKey)).valid);

  const dir = tempDir('gpg');
  const home = join(dir, 'home');
  tool('mkdir', ['-m', '700', home]);
  writeFileSync(join(dir, 'key.asc'), signer.publicKey);
  writeFileSync(join(dir, 'SHA256SUMS'), data);
  writeFileSync(join(dir, 'SHA256SUMS.asc'), signature);
  tool('gpg', ['--homedir', home, '--batch', '--import', join(dir, 'key.asc')]);
  tool('gpg', ['--homedir', home, '--batch', '--verify', join(dir, 'SHA256SUMS.asc'), join(dir, 'SHA256SUMS')]);
});

async function protectedKey(dir: string, options: { passphrase: string; keyExpirationTime?: number; date?: Date }): Promise<string> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Release', email: 'release@example.invalid' }],
    format: 'armored',
    ...options,
  });
  const file = join(dir, 'release-key.asc');
  writeFileSync(file, privateKey, { mode: 0o600 });
  return file;
}

test('RELEASE_SIGNING_KEY with the right passphrase signs; a wrong one is named without echoing it', async () => {
  const dir = tempDir('keys');
  const file = await protectedKey(dir, { passphrase: 'correct horse' });
  const signer = await resolveSigner({ RELEASE_SIGNING_KEY: file, RELEASE_SIGNING_PASSPHRASE: 'correct horse' });
  assert.is(signer.mode, 'openpgp');
  assert.ok((await verifySignature(data, await signer.sign(data, new Date()), signer.publicKey)).valid);
  try {
    await resolveSigner({ RELEASE_SIGNING_KEY: file, RELEASE_SIGNING_PASSPHRASE: 'wrong-guess-42' });
    assert.unreachable('a wrong passphrase must fail');
  } catch (e) {
    const message = (e as Error).message;
    assert.match(message, `${file}: RELEASE_SIGNING_PASSPHRASE does not unlock this key`);
    assert.not.match(message, 'wrong-guess-42');
  }
});

test('an expired key and a file that is not a key are refused', async () => {
  const dir = tempDir('keys');
  const expired = await protectedKey(dir, { passphrase: 'p', keyExpirationTime: 60, date: new Date(Date.now() - 3600_000) });
  try {
    await resolveSigner({ RELEASE_SIGNING_KEY: expired, RELEASE_SIGNING_PASSPHRASE: 'p' });
    assert.unreachable('an expired key must fail');
  } catch (e) {
    assert.match((e as Error).message, /the signing key [0-9A-F]+ expired on/);
  }
  const junk = join(dir, 'junk.asc');
  writeFileSync(junk, 'not a key');
  try {
    await resolveSigner({ RELEASE_SIGNING_KEY: junk });
    assert.unreachable('junk must fail');
  } catch (e) {
    assert.match((e as Error).message, `${junk}: is not an ASCII-armored OpenPGP private key`);
  }
});

test.after(cleanTempDirs);
test('a private key file that other users can read is refused with a hint, and accepted once it is 0600', async () => {
  const dir = tempDir('signing-open');
  const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Open' }], format: 'armored' });
  const file = join(dir, 'open.asc');
  writeFileSync(file, privateKey);
  chmodSync(file, 0o644);
  const error = await resolveSigner({ RELEASE_SIGNING_KEY: file }).catch((e) => e);
  assert.instance(error, ReleaseError);
  assert.match(error.message, `${file}: the private key file is open to other users (mode 0644)`);
  assert.match(error.message, `hint: chmod 600 ${file}`);
  chmodSync(file, 0o600);
  assert.is((await resolveSigner({ RELEASE_SIGNING_KEY: file })).mode, 'openpgp');
});

test.run();
