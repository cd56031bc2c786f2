import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { MAX_ATTESTATION_BYTES, pae, PAYLOAD_TYPE } from '../format/provenance';
import { isObject, shapeChecker } from './json-shape';
import { verifySignature } from './signature';

/** Standard or URL-safe base64, as DSSE allows either. */
const BASE64 = /^(?:[A-Za-z0-9+/]*={0,2}|[A-Za-z0-9_-]*)$/;
const isBase64 = (v: unknown) => typeof v === 'string' && v.length > 0 && BASE64.test(v);

export interface SignatureKey {
  /** The armored public key, or undefined when none was found. */
  publicKey: string | undefined;
  publicKeyName: string;
  /** The fingerprint the key that signed must have (upper-case hex). */
  fingerprint?: string;
}

export interface OpenedEnvelope {
  /** The payload, whether or not its signature verified: its content is judged too, for the report. */
  payload: Buffer;
  /** The primary fingerprint of the key that signed, when the signature verified. */
  signedBy?: string;
}

/**
 * Reads a DSSE envelope written as one JSON line (an in-toto attestation) and checks its one
 * signature, made over the envelope's pre-authentication encoding, against the key and its pin.
 * Every problem is a failure line; undefined when there is no payload to judge.
 */
export async function openEnvelope(file: string, key: SignatureKey, fail: (line: string) => void): Promise<OpenedEnvelope | undefined> {
  const name = basename(file);
  let text: string;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return void fail(`provenance: ${name} is not a regular file`);
    if (stat.size > MAX_ATTESTATION_BYTES)
      return void fail(`provenance: ${name} is ${stat.size} bytes, more than an attestation holds (${MAX_ATTESTATION_BYTES})`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return void fail(`provenance: ${name} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!text.endsWith('\n') || text.indexOf('\n') !== text.length - 1) return void fail(`provenance: ${name} is not one JSON line`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return void fail(`provenance: ${name} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const { problems, expect, flush } = shapeChecker(`provenance: ${name}`);
  if (expect('(envelope)', value, isObject, 'an object')) {
    const envelope = value as Record<string, unknown>;
    expect('payloadType', envelope.payloadType, (v) => v === PAYLOAD_TYPE, `"${PAYLOAD_TYPE}"`);
    expect('payload', envelope.payload, isBase64, 'base64');
    if (expect('signatures', envelope.signatures, (v) => Array.isArray(v) && v.length === 1, 'a list of one signature')) {
      const signature = (envelope.signatures as unknown[])[0];
      if (expect('signatures[0]', signature, isObject, 'an object')) {
        expect('signatures[0].keyid', (signature as Record<string, unknown>).keyid, (v) => typeof v === 'string', 'a key fingerprint');
        expect('signatures[0].sig', (signature as Record<string, unknown>).sig, isBase64, 'base64');
      }
    }
  }
  if (problems.length) return void flush(fail);
  const envelope = value as { payloadType: string; payload: string; signatures: [{ keyid: string; sig: string }] };
  const payload = Buffer.from(envelope.payload, 'base64');
  const [{ keyid, sig }] = envelope.signatures;
  if (key.publicKey === undefined) {
    fail(`provenance: no public key to check ${name} with (${key.publicKeyName} is missing; pass --key)`);
    return { payload };
  }
  const result = await verifySignature(pae(envelope.payloadType, payload), Buffer.from(sig, 'base64'), key.publicKey, key.fingerprint);
  if (!result.valid) {
    fail(`provenance: ${name} is not signed by ${key.publicKeyName} (${result.reason})`);
    return { payload };
  }
  if (keyid !== result.fingerprint && keyid !== result.signingKey)
    fail(`provenance: ${name} names the key ${JSON.stringify(keyid.slice(0, 80))}, not ${result.fingerprint}, which signed it`);
  return { payload, signedBy: result.fingerprint };
}
