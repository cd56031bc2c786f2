import { basename } from 'node:path';
import { ROOT_FILES } from '../format/layout';
import { BUILD_TYPE, GIT_COMMIT, PROVENANCE_TYPE, STATEMENT_TYPE } from '../format/provenance';
import { showName } from './entry-name';
import { openEnvelope, SignatureKey } from './dsse-envelope';
import { isObject, shapeChecker } from './json-shape';
import type { PackageFacts } from './package-checks';
import type { PackageContents } from './package-contents';

export interface ProvenanceOptions {
  /** A package without an attestation beside it fails. */
  requireProvenance?: boolean;
  /** The commit (full hex) the attestation must name. */
  expectCommit?: string;
  /** The builder id the attestation must name. */
  expectBuilder?: string;
}

/** What the attestation claims and what of it was checked here, for the report. */
export interface ProvenanceReport {
  file: string;
  /** The primary fingerprint of the key that signed the attestation, when its signature verified. */
  signedBy?: string;
  builder?: string;
  commit?: string;
  version?: string;
  configuration?: string;
  /** Each subject, and whether it is this package's: `matches`, `differs`, or `elsewhere` (the other archive). */
  subjects: Array<{ name: string; sha256: string; result: 'matches' | 'differs' | 'elsewhere' }>;
}

export interface ProvenanceInput {
  /** Where the attestation of this package is, whether or not it exists. */
  file: string;
  exists: boolean;
  /** What the package holds; undefined when it could not be read. */
  contents: PackageContents | undefined;
  facts: PackageFacts;
  /** For an archive: its name as the attestation names it (`<top>.tar.gz`) and its SHA-256. */
  archive?: { name: string; sha256: Promise<string> };
  key: SignatureKey;
}

const SHA256 = /^[0-9a-f]{64}$/;
const COMMIT = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const isText = (v: unknown) => typeof v === 'string' && v.length > 0;

/** The fields the checks read, and what each must be: every statement the assembler writes has them. */
const FIELDS: Array<[path: string, test: (v: unknown) => boolean, wanted: string]> = [
  ['_type', (v) => v === STATEMENT_TYPE, `"${STATEMENT_TYPE}"`],
  ['predicateType', (v) => v === PROVENANCE_TYPE, `"${PROVENANCE_TYPE}"`],
  ['subject', (v) => Array.isArray(v) && v.length > 0, 'a list of subjects'],
  ['predicate.buildDefinition.buildType', (v) => v === BUILD_TYPE, `"${BUILD_TYPE}"`],
  ['predicate.buildDefinition.externalParameters.version', isText, 'a version'],
  ['predicate.buildDefinition.externalParameters.configuration', (v) => v === 'development' || v === 'production', 'a configuration'],
  ['predicate.buildDefinition.resolvedDependencies', Array.isArray, 'a list'],
  ['predicate.runDetails.builder.id', isText, 'a builder id'],
];

const field = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, key) => (isObject(v) ? v[key] : undefined), value);

/**
 * The recipient's checks of the provenance attestation beside a package: its DSSE signature under
 * the key (and pin) that checks SHA256SUMS, its statement's shape, that its subjects are this
 * package's bytes (SHA256SUMS, the files it names, the archive being verified), that its version,
 * configuration and commit are MANIFEST.json's, and the commit and builder the caller expects.
 * Without an attestation, only the options that need one fail.
 */
export async function checkProvenance(
  input: ProvenanceInput,
  options: ProvenanceOptions,
  fail: (line: string) => void,
): Promise<ProvenanceReport | undefined> {
  const name = basename(input.file);
  if (!input.exists) {
    const needs = [
      options.requireProvenance && '--require-provenance',
      options.expectCommit && '--expect-commit',
      options.expectBuilder && '--expect-builder',
    ].filter(Boolean);
    if (needs.length) fail(`provenance: ${name} is missing beside the package; ${needs.join(', ')} needs it`);
    return undefined;
  }
  // Keys in the order the report shows them; the claims are filled in once the statement's shape passed.
  const report: ProvenanceReport = {
    file: name,
    signedBy: undefined,
    builder: undefined,
    commit: undefined,
    version: undefined,
    configuration: undefined,
    subjects: [],
  };
  const opened = await openEnvelope(input.file, input.key, fail);
  if (!opened) return report;
  report.signedBy = opened.signedBy;
  if (opened.signedBy && input.facts.fingerprint && opened.signedBy !== input.facts.fingerprint)
    fail(`provenance: ${name} is signed by ${opened.signedBy}, SHA256SUMS by ${input.facts.fingerprint}`);

  const claims = readClaims(opened.payload, name, fail);
  if (!claims) return report;
  const { version, configuration, builder, commit, subjects } = claims;
  Object.assign(report, { builder, commit, version, configuration });

  const top = input.contents?.top;
  const archiveSha256 = input.archive && (await input.archive.sha256.catch(() => undefined));
  if (input.archive && archiveSha256 === undefined) fail(`provenance: ${input.archive.name} cannot be read to hash it`);
  for (const { name: subjectName, digest } of subjects) {
    const packaged =
      top !== undefined && subjectName.startsWith(`${top}/`) ? input.contents?.files.get(subjectName.slice(top.length + 1)) : undefined;
    const actual = subjectName === input.archive?.name ? archiveSha256 : packaged?.sha256;
    const result = actual === undefined ? 'elsewhere' : actual === digest.sha256 ? 'matches' : 'differs';
    report.subjects.push({ name: subjectName, sha256: digest.sha256, result });
    if (result === 'differs')
      fail(`provenance: ${showName(subjectName)} does not match its digest in ${name} (sha256 ${actual}, attested ${digest.sha256})`);
    else if (actual === undefined && top !== undefined && subjectName.startsWith(`${top}/`))
      fail(`provenance: ${name} attests ${showName(subjectName)}, which the package does not hold`);
  }
  const attested = new Set(report.subjects.map((s) => s.name));
  for (const needed of [...(top !== undefined ? [`${top}/${ROOT_FILES.checksums}`] : []), ...(input.archive ? [input.archive.name] : [])])
    if (!attested.has(needed)) fail(`provenance: ${name} does not attest ${showName(needed)}`);

  const facts = input.facts;
  if (facts.version !== undefined && version !== facts.version)
    fail(`provenance: ${name} is for version ${showName(version)}, MANIFEST.json for ${showName(facts.version)}`);
  if (facts.configuration !== undefined && configuration !== facts.configuration)
    fail(`provenance: ${name} says configuration ${showName(configuration)}, MANIFEST.json ${facts.configuration}`);
  const manifestCommit = facts.commit === 'unknown' ? undefined : facts.commit;
  if (facts.commit !== undefined && commit !== manifestCommit)
    fail(`provenance: ${name} names commit ${commit ?? '(none)'}, MANIFEST.json ${facts.commit}`);
  if (options.expectCommit && commit !== options.expectCommit)
    fail(`provenance: ${name} names commit ${commit ?? '(none)'}, not the expected ${options.expectCommit}`);
  if (options.expectBuilder !== undefined && builder !== options.expectBuilder)
    fail(`provenance: ${name} names the builder ${showName(builder)}, not the expected ${showName(options.expectBuilder)}`);
  return report;
}

interface Claims {
  version: string;
  configuration: string;
  builder: string;
  commit?: string;
  subjects: Array<{ name: string; digest: { sha256: string } }>;
}

/** What the statement claims, once its shape is the one the assembler writes; every shape problem is a failure. */
function readClaims(payload: Buffer, name: string, fail: (line: string) => void): Claims | undefined {
  let statement: unknown;
  try {
    statement = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    fail(`provenance: ${name}: its payload is not valid JSON (${(e as Error).message.split('\n')[0]})`);
    return undefined;
  }
  const { problems, problem, expect, flush } = shapeChecker(`provenance: ${name}`);
  if (expect('(statement)', statement, isObject, 'an object'))
    for (const [path, test, wanted] of FIELDS) expect(path, field(statement, path), test, wanted);
  const subjects = field(statement, 'subject');
  (Array.isArray(subjects) ? subjects : []).forEach((subject, i) => {
    expect(`subject[${i}].name`, field(subject, 'name'), isText, 'a name');
    expect(`subject[${i}].digest.sha256`, field(subject, 'digest.sha256'), (v) => typeof v === 'string' && SHA256.test(v), 'a SHA-256');
  });
  const dependencies = field(statement, 'predicate.buildDefinition.resolvedDependencies');
  const commits = (Array.isArray(dependencies) ? dependencies : [])
    .map((d) => field(d, `digest.${GIT_COMMIT}`))
    .filter((c) => c !== undefined);
  if (commits.length > 1) problem('resolvedDependencies', `name ${commits.length} source commits, not one`);
  if (commits.length === 1)
    expect(`the source's digest.${GIT_COMMIT}`, commits[0], (v) => typeof v === 'string' && COMMIT.test(v), 'a commit');
  if (problems.length) return void flush(fail);
  return {
    version: field(statement, 'predicate.buildDefinition.externalParameters.version') as string,
    configuration: field(statement, 'predicate.buildDefinition.externalParameters.configuration') as string,
    builder: field(statement, 'predicate.runDetails.builder.id') as string,
    commit: commits[0] as string | undefined,
    subjects: subjects as Claims['subjects'],
  };
}
