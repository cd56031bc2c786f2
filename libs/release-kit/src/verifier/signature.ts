import * as openpgp from 'openpgp';

export interface SignatureCheck {
  valid: boolean;
  /** The primary fingerprint (upper-case hex) of the key that made the signature, or of the key read when none did. */
  fingerprint?: string;
  /** The fingerprint of the exact (sub)key that made the signature, when it verified. */
  signingKey?: string;
  /** The key's user IDs, as `name <email>`. */
  userIds?: string[];
  reason?: string;
}

/**
 * Checks a detached signature of `data` (armored, or binary as a DSSE envelope carries it) against an armored public key and, when
 * `fingerprint` is given, that the key which made the signature is the one the recipient expects:
 * the pin must be the primary fingerprint of the key whose (sub)key made the signature, or that
 * very (sub)key's fingerprint. Another subkey carried by the key proves nothing: anyone can attach
 * a copy of a genuine public key to their own key as a subkey.
 */
export async function verifySignature(
  data: Buffer,
  detachedSignature: string | Uint8Array,
  armoredPublicKey: string,
  fingerprint?: string,
): Promise<SignatureCheck> {
  let key: openpgp.PublicKey;
  try {
    key = await openpgp.readKey({ armoredKey: armoredPublicKey });
  } catch (e) {
    return { valid: false, reason: `the public key cannot be read: ${firstLine(e)}` };
  }
  const primary = key.getFingerprint().toUpperCase();
  if (fingerprint !== undefined && !key.getKeys().some((k) => k.getFingerprint().toUpperCase() === fingerprint))
    return { valid: false, fingerprint: primary, reason: `the key's fingerprint ${primary} is not the expected ${fingerprint}` };
  let signer: string;
  try {
    const signature = await (typeof detachedSignature === 'string'
      ? openpgp.readSignature({ armoredSignature: detachedSignature })
      : openpgp.readSignature({ binarySignature: detachedSignature }));
    const message = await openpgp.createMessage({ binary: data });
    const { signatures } = await openpgp.verify({ message, signature, verificationKeys: key });
    if (signatures.length !== 1) return { valid: false, fingerprint: primary, reason: `${signatures.length} signatures instead of one` };
    await signatures[0].verified;
    const issuer = (await signatures[0].signature).packets[0]?.issuerFingerprint;
    const issuerHex = issuer ? Buffer.from(issuer).toString('hex').toUpperCase() : undefined;
    // The (sub)keys with the signature's issuer key ID; its issuer fingerprint, when it names one, picks the very key.
    const candidates = key
      .getKeys(signatures[0].keyID)
      .map((k) => k.getFingerprint().toUpperCase())
      .filter((fp) => issuerHex === undefined || fp === issuerHex);
    if (candidates.length !== 1)
      return { valid: false, fingerprint: primary, reason: `cannot tell which of the key's (sub)keys made the signature` };
    signer = candidates[0];
  } catch (e) {
    return { valid: false, fingerprint: primary, reason: firstLine(e) };
  }
  if (fingerprint !== undefined && fingerprint !== primary && fingerprint !== signer)
    return {
      valid: false,
      fingerprint: primary,
      signingKey: signer,
      reason:
        `the signature was made by ${signer === primary ? 'the key' : `subkey ${signer} of the key`} ${primary}, ` +
        `which is not the expected ${fingerprint} (the key merely carries ${fingerprint} as a subkey)`,
    };
  return { valid: true, fingerprint: primary, signingKey: signer, userIds: key.getUserIDs() };
}

/** A fingerprint as the user typed it (spaces, lower case, 0x) in the form openpgp prints. */
export function normaliseFingerprint(text: string): string | undefined {
  const hex = text.replace(/^0x/i, '').replace(/\s+/g, '').toUpperCase();
  return /^([0-9A-F]{40}|[0-9A-F]{64})$/.test(hex) ? hex : undefined;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
