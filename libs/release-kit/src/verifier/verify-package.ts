import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { attestationName, PUBLIC_KEY_FILE } from '../format/layout';
import { octalMode } from '../format/manifest';
import { sha256File } from '../support/digest';
import { showName } from './entry-name';
import { readPackageFolder } from './folder-reader';
import { ArchiveLimits, DEFAULT_LIMITS } from './limits';
import { checkPackage, PackageFacts } from './package-checks';
import { PackageContents } from './package-contents';
import { checkProvenance, ProvenanceOptions, ProvenanceReport } from './provenance-checks';
import { readTarGz } from './tar-gz-reader';
import { readZip } from './zip-reader';

export type PackageKind = 'folder' | 'tar.gz' | 'zip';

export interface VerifyTargetOptions extends ProvenanceOptions {
  /** The public key file; defaults to release-signing-key.asc beside the target. */
  keyFile?: string;
  /** The fingerprint the key that made the signature must have (upper-case hex). */
  fingerprint?: string;
  sections?: string[];
  limits?: ArchiveLimits;
  /** A development package (configuration or signing key) fails. */
  requireProduction?: boolean;
  /** Package-relative paths whose bytes are returned in `contents.roots` too (release:diff reads through this). */
  wanted?: (path: string) => boolean;
}

/** Where the public key came from, and so what a valid signature proves. */
export interface KeyTrust {
  file: string;
  source: 'beside the package' | 'given with --key';
  /** The key that made the signature was checked against --fingerprint. */
  pinned: boolean;
  /** What a valid signature proves, in a sentence. */
  proves: string;
}

export interface VerifyReport extends PackageFacts {
  target: string;
  kind: PackageKind;
  failures: string[];
  files: number;
  key: KeyTrust;
  /** The provenance attestation beside the package, when there is one. */
  provenance?: ProvenanceReport;
}

/** What a path names, by its type and extension; undefined when it is none of the three. */
export function packageKind(target: string): PackageKind | undefined {
  if (!existsSync(target)) return undefined;
  if (statSync(target).isDirectory()) return 'folder';
  if (/\.(tar\.gz|tgz)$/.test(target)) return 'tar.gz';
  if (target.endsWith('.zip')) return 'zip';
  return undefined;
}

/**
 * Verifies one package folder or archive on its own, as a recipient holding only it, the public
 * key and the provenance attestation beside it (`<name>.intoto.jsonl` for `<name>/`,
 * `<name>.tar.gz` or `<name>.zip`) would. `contents` is returned too, so that a caller can compare several forms.
 * Whatever goes wrong inside ends as a failure line, never as an exception.
 */
export async function verifyPackage(
  target: string,
  kind: PackageKind,
  options: VerifyTargetOptions = {},
): Promise<VerifyReport & { contents?: PackageContents }> {
  const failures: string[] = [];
  const fail = (line: string) => failures.push(kind === 'folder' ? line : `${basename(target)}: ${line}`);
  const keyFile = options.keyFile ?? join(dirname(target), PUBLIC_KEY_FILE);
  const key = keyTrust(keyFile, options);
  const report: VerifyReport & { contents?: PackageContents } = { target, kind, failures, files: 0, key };
  const name = basename(target).replace(/\.(tar\.gz|tgz|zip)$/, '');
  const attestation = join(dirname(target), attestationName(name));
  const attested = existsSync(attestation);
  // Hashed while the reader reads it: the attestation names the archive's digest.
  const archiveSha256 = kind !== 'folder' && attested ? sha256File(target) : undefined;
  archiveSha256?.catch(() => undefined);
  const signatureKey = { publicKey: readText(keyFile), publicKeyName: basename(keyFile), fingerprint: options.fingerprint };
  try {
    const limits = options.limits ?? DEFAULT_LIMITS;
    const contents =
      kind === 'folder'
        ? await readPackageFolder(target, fail, options.wanted)
        : kind === 'tar.gz'
          ? await readTarGz(target, limits, fail, options.wanted)
          : await readZip(target, limits, fail, options.wanted);
    report.files = contents?.files.size ?? 0;
    if (contents && kind !== 'folder' && !contents.top) fail('holds no package folder');
    else if (contents) {
      const facts = await checkPackage(
        contents,
        { ...signatureKey, sections: options.sections, requireProduction: options.requireProduction },
        fail,
      );
      Object.assign(report, facts, { contents });
    }
    // Checked also when the package could not be read: the attestation still tells whether these are the bytes it attests.
    report.provenance = await checkProvenance(
      {
        file: attestation,
        exists: attested,
        contents: report.contents,
        facts: report,
        archive: archiveSha256 && { name: `${name}.${kind}`, sha256: archiveSha256 },
        key: signatureKey,
      },
      options,
      fail,
    );
    return report;
  } catch (e) {
    fail(`internal error while verifying: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
    return report;
  }
}

function keyTrust(file: string, options: VerifyTargetOptions): KeyTrust {
  const source = options.keyFile === undefined ? 'beside the package' : 'given with --key';
  const pinned = options.fingerprint !== undefined;
  return {
    file: basename(file),
    source,
    pinned,
    proves: pinned
      ? 'the package is intact and signed by the key pinned with --fingerprint'
      : `the key came from ${source === 'beside the package' ? 'beside the package' : 'the --key file'} and is not pinned: ` +
        'a valid signature proves the package is intact, not who signed it (pin the signer with --fingerprint)',
  };
}

/** Failure lines for every difference between an archive's files and the folder's. */
export function compareContents(label: string, archive: PackageContents, folder: PackageContents): string[] {
  const lines: string[] = [];
  if (archive.top !== folder.top) lines.push(`${label}: its top folder ${showName(archive.top)} is not ${folder.top}`);
  for (const [path, facts] of archive.files) {
    const other = folder.files.get(path);
    if (!other) lines.push(`${label}: ${showName(path)} is not in the package folder`);
    else if (other.sha256 !== facts.sha256) lines.push(`${label}: ${showName(path)} differs from the package folder`);
    else if (other.mode !== facts.mode)
      lines.push(`${label}: ${showName(path)} has mode ${octalMode(facts.mode)}, the folder has ${octalMode(other.mode)}`);
  }
  for (const path of folder.files.keys()) if (!archive.files.has(path)) lines.push(`${label}: ${showName(path)} is missing`);
  return lines;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
