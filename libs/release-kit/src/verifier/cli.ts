// The standalone verifier, bundled into verify-release.mjs: needs only Node.js 20+.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ArchiveLimits, DEFAULT_LIMITS } from './limits';
import { normaliseFingerprint } from './signature';
import { packageKind, verifyPackage, VerifyReport } from './verify-package';

const USAGE = [
  'usage: node verify-release.mjs <package folder | .tar.gz | .zip> [--key release-signing-key.asc] [--fingerprint <hex>]',
  '       [--require-production] [--require-provenance] [--expect-commit <sha>] [--expect-builder <id>] [--json]',
  `       [--max-entries ${DEFAULT_LIMITS.maxEntries}] [--max-bytes ${DEFAULT_LIMITS.maxBytes}] [--max-ratio ${DEFAULT_LIMITS.maxRatio}]`,
  'Checks the layout, every SHA256SUMS entry, the signature, MANIFEST.json and (for an archive) that every entry is in',
  'the exact form the assembler writes. Every result names the configuration (development or production) and signing mode.',
  'The provenance attestation beside it (<name>.intoto.jsonl) is checked too: its signature by the same key, that it',
  "attests these bytes, and that its version, configuration and commit are MANIFEST.json's.",
  '  --key                 the public key (default: release-signing-key.asc beside the package)',
  '  --fingerprint         the fingerprint of the key that must have made the signature (its primary key or the',
  '                        signing subkey); without it, a key from beside the package proves integrity, not who signed',
  '  --require-production  fail a development package (development configuration or development signing key)',
  '  --require-provenance  fail a package without a provenance attestation beside it',
  '  --expect-commit       the git commit (full hex) the attestation must name',
  '  --expect-builder      the builder id the attestation must name (a CI workflow, or local:<build user>)',
  '  --json                the report as JSON, with "verified" true or false',
  'Exit status: 0 verified, 1 verification failed, 2 usage error.',
].join('\n');

const EXIT = { verified: 0, failed: 1, usage: 2 } as const;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let request;
  try {
    request = parseRequest(argv);
  } catch (e) {
    if (!(e instanceof UsageError) && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw e;
    console.error(`verify-release: ${(e as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  if (request === 'help') {
    console.log(USAGE);
    return EXIT.verified;
  }
  const report = await verifyPackage(request.target, request.kind, request);
  const verified = report.failures.length === 0;
  if (request.json) {
    const { contents: _contents, ...shown } = report;
    console.log(JSON.stringify({ ...shown, verified }, null, 2));
  } else {
    for (const failure of report.failures) console.log(`FAIL ${failure}`);
    const signedBy = `signed by ${report.fingerprint}${report.signingKey ? ` (subkey ${report.signingKey})` : ''}`;
    const provenance = report.provenance
      ? `provenance: built by ${report.provenance.builder} from commit ${report.provenance.commit ?? '(none)'}`
      : 'no provenance attestation beside it';
    console.log(
      verified
        ? `OK ${report.target}: ${report.version}, ${report.files} files, SHA256SUMS and MANIFEST.json match; ` +
            `${describePackage(report)}; ${signedBy}; ${provenance}; ${report.key.proves}`
        : `FAILED ${report.target}: ${report.failures.length} problems; ${describePackage(report)}`,
    );
  }
  return verified ? EXIT.verified : EXIT.failed;
}

/** The configuration and signing mode, as MANIFEST.json gives them (once its shape was checked). */
function describePackage(report: VerifyReport): string {
  if (!report.configuration || !report.signing) return 'configuration unknown, signing mode unknown';
  const development = report.configuration !== 'production' || report.signing.development;
  return (
    `configuration ${report.configuration}, signing mode ${report.signing.mode}` +
    (development ? ' (a development package: not for release)' : '')
  );
}

function parseRequest(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      fingerprint: { type: 'string' },
      'require-production': { type: 'boolean' },
      'require-provenance': { type: 'boolean' },
      'expect-commit': { type: 'string' },
      'expect-builder': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      'max-entries': { type: 'string' },
      'max-bytes': { type: 'string' },
      'max-ratio': { type: 'string' },
    },
  });
  if (values.help) return 'help' as const;
  if (positionals.length !== 1)
    throw new UsageError(positionals.length ? `one package at a time (got ${positionals.length})` : 'no package given');
  const target = positionals[0];
  if (!existsSync(target)) throw new UsageError(`${target}: does not exist`);
  const kind = packageKind(target);
  if (!kind) throw new UsageError(`${target}: is not a package folder, .tar.gz or .zip`);
  if (values.key !== undefined && !existsSync(values.key)) throw new UsageError(`--key ${values.key}: does not exist`);
  let fingerprint: string | undefined;
  if (values.fingerprint !== undefined) {
    fingerprint = normaliseFingerprint(values.fingerprint);
    if (!fingerprint) throw new UsageError(`--fingerprint ${values.fingerprint}: not a 40 or 64 digit hex fingerprint`);
  }
  const expectCommit = values['expect-commit']?.toLowerCase();
  if (expectCommit !== undefined && !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(expectCommit))
    throw new UsageError(`--expect-commit ${values['expect-commit']}: not a full commit (40 or 64 hex digits)`);
  if (values['expect-builder'] === '') throw new UsageError('--expect-builder: empty');
  const limits: ArchiveLimits = {
    maxEntries: positiveNumber(values['max-entries'], '--max-entries', DEFAULT_LIMITS.maxEntries),
    maxBytes: positiveNumber(values['max-bytes'], '--max-bytes', DEFAULT_LIMITS.maxBytes),
    maxRatio: positiveNumber(values['max-ratio'], '--max-ratio', DEFAULT_LIMITS.maxRatio),
  };
  return {
    target,
    kind,
    keyFile: values.key,
    fingerprint,
    requireProduction: values['require-production'] ?? false,
    requireProvenance: values['require-provenance'] ?? false,
    expectCommit,
    expectBuilder: values['expect-builder'],
    json: values.json ?? false,
    limits,
  };
}

function positiveNumber(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`${option} ${text}: not a positive whole number`);
  return value;
}

// Should the work ever stall with nothing left to wait for, Node exits: then with a failure, never 0.
process.exitCode = EXIT.failed;
main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    // verifyPackage turns its own errors into failure lines: this is the last resort, one line, no stack.
    console.log(`FAIL internal error: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
    process.exitCode = EXIT.failed;
  },
);
