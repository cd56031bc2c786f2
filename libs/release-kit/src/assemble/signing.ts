import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { DEFAULT_ENTRY_EPOCH } from '../format/determinism';
import { DEVELOPMENT_KEY_USER, type SigningMode } from '../format/manifest';
import { ReleaseError } from '../support/errors';

export interface Signer {
  mode: SigningMode;
  fingerprint: string;
  publicKey: string;
  /** Where the key came from, for messages (never the key itself). */
  source: string;
  /** A detached, ASCII-armored signature of `data`. */
  sign(data: Buffer, date: Date): Promise<string>;
}

const DEV_KEY_FILE = 'development-signing-key.asc';

/** Where the development key lives: outside every workspace, readable by its owner only. */
export function developmentKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'spacetime-vr-release', DEV_KEY_FILE);
}

/**
 * Picks the signing key as the contract says: GPG_KEY_ID (local gpg keyring), else
 * RELEASE_SIGNING_KEY (+ RELEASE_SIGNING_PASSPHRASE) through openpgp, else the development key.
 */
export async function resolveSigner(env: NodeJS.ProcessEnv = process.env): Promise<Signer> {
  if (env.GPG_KEY_ID) return gpgSigner(env.GPG_KEY_ID);
  if (env.RELEASE_SIGNING_KEY) return openpgpSigner(env.RELEASE_SIGNING_KEY, env.RELEASE_SIGNING_PASSPHRASE, 'openpgp');
  return openpgpSigner(await ensureDevelopmentKey(env), undefined, 'development');
}

async function ensureDevelopmentKey(env: NodeJS.ProcessEnv): Promise<string> {
  const file = developmentKeyPath(env);
  if (existsSync(file)) return file;
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [DEVELOPMENT_KEY_USER],
    // Dated at the fixed archive epoch so that it may sign for any build date.
    date: new Date(DEFAULT_ENTRY_EPOCH * 1000),
    format: 'armored',
  });
  const partial = `${file}.partial-${process.pid}`;
  writeFileSync(partial, privateKey, { mode: 0o600 });
  try {
    linkSync(partial, file); // fails if a concurrent build made one first; then that one is used
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(partial, { force: true });
  }
  chmodSync(file, 0o600);
  return file;
}

async function openpgpSigner(keyFile: string, passphrase: string | undefined, mode: SigningMode): Promise<Signer> {
  let armoredKey: string;
  try {
    armoredKey = readFileSync(keyFile, 'utf8');
  } catch {
    throw new ReleaseError('RELEASE_SIGNING_KEY names a file that cannot be read', { file: keyFile });
  }
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey });
  } catch {
    throw new ReleaseError('is not an ASCII-armored OpenPGP private key', {
      file: keyFile,
      hint: 'export one with `gpg --armor --export-secret-keys <id>`',
    });
  }
  assertPrivate(keyFile);
  if (!key.isDecrypted()) {
    if (!passphrase) throw new ReleaseError('the key is protected by a passphrase; set RELEASE_SIGNING_PASSPHRASE', { file: keyFile });
    try {
      key = await openpgp.decryptKey({ privateKey: key, passphrase });
    } catch {
      throw new ReleaseError('RELEASE_SIGNING_PASSPHRASE does not unlock this key', { file: keyFile });
    }
  }
  const fingerprint = key.getFingerprint().toUpperCase();
  const expires = await key.getExpirationTime();
  if (expires instanceof Date && expires.getTime() < Date.now()) {
    throw new ReleaseError(`the signing key ${fingerprint} expired on ${expires.toISOString()}`, {
      file: keyFile,
      hint: 'extend its expiry or use another key',
    });
  }
  const created = key.getCreationTime();
  return {
    mode,
    fingerprint,
    source: mode === 'development' ? 'development key' : 'RELEASE_SIGNING_KEY',
    publicKey: key.toPublic().armor(),
    async sign(data, date) {
      const message = await openpgp.createMessage({ binary: data });
      // A signature cannot predate its key: the build date is raised to the key's creation.
      const when = date < created ? created : date;
      // openpgp.js salts v4 signatures by default; a release signature must be reproducible.
      const config = { nonDeterministicSignaturesViaNotation: false };
      return (await openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored', date: when, config })) as string;
    },
  };
}

function gpgSigner(keyId: string): Signer {
  const gpg = (args: string[], input?: Buffer) => {
    try {
      return execFileSync('gpg', ['--batch', '--yes', ...args], { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 24 }).toString(
        'utf8',
      );
    } catch (e) {
      const detail = (e as { stderr?: Buffer }).stderr?.toString().trim().split('\n').pop() ?? (e as Error).message;
      throw new ReleaseError(`gpg failed for GPG_KEY_ID=${keyId}: ${detail}`, { hint: 'check `gpg --list-secret-keys`' });
    }
  };
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(gpg(['--with-colons', '--fingerprint', '--list-secret-keys', keyId]))?.[1];
  if (!fingerprint) throw new ReleaseError(`no secret key matches GPG_KEY_ID=${keyId} in the gpg keyring`);
  return {
    mode: 'gpg',
    fingerprint,
    source: `gpg keyring (GPG_KEY_ID=${keyId})`,
    publicKey: gpg(['--armor', '--export', fingerprint]),
    async sign(data) {
      return gpg(['--local-user', fingerprint, '--detach-sign', '--armor', '--output', '-'], data);
    },
  };
}

/** A private key file that other users may read, write or run is refused, as ssh refuses one. */
function assertPrivate(keyFile: string): void {
  const mode = statSync(keyFile).mode & 0o777;
  if (mode & 0o077)
    throw new ReleaseError(`the private key file is open to other users (mode ${mode.toString(8).padStart(4, '0')})`, {
      file: keyFile,
      hint: `chmod 600 ${keyFile}, and rotate the key if anyone else could have read it`,
    });
}
