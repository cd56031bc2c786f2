import { existsSync } from 'node:fs';
import { developmentKeyPath, resolveSigner } from '../assemble/signing';
import { ReleaseError } from '../support/errors';
import { Check, CheckStatus, DoctorInput, messageOf, skipOrStop } from './check';

const RELEASE_KEY = 'set RELEASE_SIGNING_KEY (+ RELEASE_SIGNING_PASSPHRASE) or GPG_KEY_ID';

/** What the key that is not loaded needs, by where it comes from (a ReleaseError's hint comes first). */
const LOAD_FIXES = {
  gpg: "import the secret key into this user's gpg keyring (gpg --import), or unset GPG_KEY_ID",
  openpgp: 'point RELEASE_SIGNING_KEY at an ASCII-armored private key file (mode 0600) and RELEASE_SIGNING_PASSPHRASE at its passphrase',
};

function signingCheck(status: CheckStatus, found: string, fix?: string): Check {
  return { area: 'Signing', name: 'release signing key', status, found, ...(fix ? { fix } : {}), stage: 'build' };
}

/**
 * The key the assembly signs with, chosen as resolveSigner chooses it and loaded as it loads it.
 * The development key is never made here: the first build makes it. A production release refuses it.
 */
export async function checkSigning(input: DoctorInput): Promise<Check[]> {
  const { env, mode } = input;
  const development = (found: string) =>
    signingCheck(
      skipOrStop(mode),
      `${found}${mode === 'production' ? ': a production release refuses it' : ', not fit for production'}`,
      mode === 'production' ? RELEASE_KEY : `for a production release, ${RELEASE_KEY}`,
    );
  if (!env.GPG_KEY_ID && !env.RELEASE_SIGNING_KEY && !existsSync(developmentKeyPath(env)))
    return [development(`no release key: the first build creates the development key at ${developmentKeyPath(env)}`)];
  try {
    const signer = await resolveSigner(env);
    if (signer.mode === 'development') return [development(`the development key ${signer.fingerprint} (${developmentKeyPath(env)})`)];
    const loads = signer.mode === 'gpg' ? 'has its secret key in the keyring' : 'loads and unlocks';
    return [signingCheck('ok', `${signer.source}: ${signer.fingerprint} ${loads}`)];
  } catch (e) {
    const fix = (e instanceof ReleaseError && e.hint) || LOAD_FIXES[env.GPG_KEY_ID ? 'gpg' : 'openpgp'];
    return [signingCheck('error', `${messageOf(e)}: every build stops on it`, fix)];
  }
}
