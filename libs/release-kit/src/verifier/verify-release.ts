import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { ArchiveLimits } from './limits';
import { PackageFacts } from './package-checks';
import { ProvenanceReport } from './provenance-checks';
import { compareContents, PackageKind, verifyPackage } from './verify-package';

export interface VerifyOptions {
  packageDir: string;
  /** Section folders the package must hold. */
  sections: string[];
  publicKeyFile: string;
  fingerprint?: string;
  tarGz?: string;
  zip?: string;
  limits?: ArchiveLimits;
  /** A development package (configuration or signing key) fails. */
  requireProduction?: boolean;
  /** A package without its provenance attestation beside it fails. */
  requireProvenance?: boolean;
}

export interface VerifyReport {
  failures: string[];
  files: number;
  version?: string;
  /** The primary fingerprint of the key that made the signature. */
  fingerprint?: string;
  /** MANIFEST.json's configuration and signing mode, once its shape was checked. */
  configuration?: PackageFacts['configuration'];
  signing?: PackageFacts['signing'];
  provenance?: ProvenanceReport;
}

/**
 * Verifies a built release with the standalone verifier's code: the folder and each archive
 * on their own, then that both archives hold exactly the folder's bytes and modes.
 */
export async function verifyRelease(options: VerifyOptions): Promise<VerifyReport> {
  const dir = options.packageDir;
  if (!existsSync(dir)) return { failures: [`${dir}: the package folder does not exist (run release:assemble first)`], files: 0 };
  const targetOptions = {
    keyFile: options.publicKeyFile,
    fingerprint: options.fingerprint,
    sections: options.sections,
    limits: options.limits,
    requireProduction: options.requireProduction,
    requireProvenance: options.requireProvenance,
  };
  const folder = await verifyPackage(dir, 'folder', targetOptions);
  const failures = [...folder.failures];
  const archives: Array<[PackageKind, string | undefined]> = [
    ['tar.gz', options.tarGz],
    ['zip', options.zip],
  ];
  for (const [kind, archive] of archives) {
    if (!archive) continue;
    if (!existsSync(archive)) {
      failures.push(`${basename(archive)}: is missing`);
      continue;
    }
    const report = await verifyPackage(archive, kind, targetOptions);
    failures.push(...report.failures);
    if (report.contents && folder.contents) failures.push(...compareContents(basename(archive), report.contents, folder.contents));
  }
  return {
    failures,
    files: folder.files,
    version: folder.version,
    fingerprint: folder.fingerprint,
    configuration: folder.configuration,
    signing: folder.signing,
    provenance: folder.provenance,
  };
}
