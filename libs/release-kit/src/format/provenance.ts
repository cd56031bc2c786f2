import type { Manifest, SigningMode } from './manifest';

/**
 * The provenance attestation beside the archives, as the assembler writes it and the verifier reads
 * it (docs/provenance.md): an in-toto v1 Statement with a SLSA Provenance v1 predicate, signed as
 * a DSSE envelope, on one JSON line.
 */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PROVENANCE_TYPE = 'https://slsa.dev/provenance/v1';
/** The DSSE payload type of an in-toto statement. */
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** What this tool's parameters and dependencies mean: docs/provenance.md. */
export const BUILD_TYPE = 'https://spacetime-vr.com/spacetime-release/buildtypes/assemble/v1';
/** The digest algorithm that names the source commit among the resolved dependencies (in-toto DigestSet). */
export const GIT_COMMIT = 'gitCommit';
/** Larger than any attestation the assembler writes (a few KB): the verifier reads no further. */
export const MAX_ATTESTATION_BYTES = 1 << 20;

/** An in-toto ResourceDescriptor: one of uri and digest at least. */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
}

export interface ExternalParameters {
  version: string;
  configuration: Manifest['configuration'];
  /** The Nx target that ran the assembly, e.g. `release:assemble:production`. */
  target: string;
}

export interface InternalParameters {
  gitDirty: boolean;
  signing: { mode: SigningMode; fingerprint: string; development: boolean };
  /** The artifacts the build could not make (MANIFEST.json `skipped`). */
  skipped: string[];
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Array<{ name: string; digest: { sha256: string } }>;
  predicateType: typeof PROVENANCE_TYPE;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: ExternalParameters;
      internalParameters: InternalParameters;
      resolvedDependencies: ResourceDescriptor[];
    };
    runDetails: {
      builder: { id: string; version: Record<string, string> };
      metadata: { startedOn: string };
    };
  };
}

/** The DSSE envelope: the base64 payload and one signature by the release key (keyid: its fingerprint). */
export interface Envelope {
  payload: string;
  payloadType: string;
  signatures: Array<{ keyid: string; sig: string }>;
}

/** DSSE v1's pre-authentication encoding of a payload: the bytes that are signed. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}
