import * as openpgp from 'openpgp';

export interface SignatureCheck {
  valid: boolean;
  /** The verifying key's primary fingerprint (upper-case hex), when the key could be read. */
  fingerprint?: string;
  reason?: string;
}

/**
 * Checks a detached armored signature of `data` against an armored public key and, when
 * `fingerprint` is given, that the key is the one the recipient expects.
 */
export async function verifySignature(
  data: Buffer,
  armoredSignature: string,
  armoredPublicKey: string,
  fingerprint?: string,
): Promise<SignatureCheck> {
  let key: openpgp.PublicKey;
  try {
    key = await openpgp.readKey({ armoredKey: armoredPublicKey });
  } catch (e) {
    return { valid: false, reason: `the public key cannot be read: ${firstLine(e)}` };
  }
  const keyFingerprint = key.getFingerprint().toUpperCase();
  if (fingerprint !== undefined && !key.getKeys().some((k) => k.getFingerprint().toUpperCase() === fingerprint)) {
    return {
      valid: false,
      fingerprint: keyFingerprint,
      reason: `the key's fingerprint ${keyFingerprint} is not the expected ${fingerprint}`,
    };
  }
  try {
    const signature = await openpgp.readSignature({ armoredSignature });
    const message = await openpgp.createMessage({ binary: data });
    const { signatures } = await openpgp.verify({ message, signature, verificationKeys: key });
    if (signatures.length !== 1)
      return { valid: false, fingerprint: keyFingerprint, reason: `${signatures.length} signatures instead of one` };
    await signatures[0].verified;
    return { valid: true, fingerprint: keyFingerprint };
  } catch (e) {
    return { valid: false, fingerprint: keyFingerprint, reason: firstLine(e) };
  }
}

/** A fingerprint as the user typed it (spaces, lower case, 0x) in the form openpgp prints. */
export function normaliseFingerprint(text: string): string | undefined {
  const hex = text.replace(/^0x/i, '').replace(/\s+/g, '').toUpperCase();
  return /^([0-9A-F]{40}|[0-9A-F]{64})$/.test(hex) ? hex : undefined;
}

function firstLine(e: unknown): string {
  return (e as Error).message.split('\n')[0];
}
