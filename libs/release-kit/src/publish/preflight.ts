import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import { ReleaseError } from '../support/errors';
import { verifyRelease, VerifyOptions } from '../verifier/verify-release';
import { ArtifactRepository } from './artifact-repository';
import type { RegistryAuth } from '../build/oci-registry';
import { checkRegistry } from './registry-push';

export interface Destinations {
  repository: ArtifactRepository;
  registry?: { docker: Docker; name: string; auth?: RegistryAuth };
  log: (line: string) => void;
}

/** The package folder, both archives and the public key are there: a clear error otherwise (a missing attestation fails verification). */
export function requirePackage(verify: VerifyOptions): void {
  for (const file of [verify.packageDir, verify.tarGz!, verify.zip!, verify.publicKeyFile]) {
    if (!existsSync(file))
      throw new ReleaseError('is missing: there is no release package to publish', { file, hint: 'run release:assemble first' });
  }
}

/**
 * The first half of the preflight, which reads only the local package: it is there and verifies
 * (folder, both archives, signature). Nothing remote is touched.
 */
export async function verifyPackage(verify: VerifyOptions, log: (line: string) => void): Promise<void> {
  requirePackage(verify);
  const report = await verifyRelease(verify);
  if (report.failures.length) {
    const more = report.failures.length > 1 ? ` (and ${report.failures.length - 1} more problems)` : '';
    throw new ReleaseError(`the package fails verification, so it is not published: ${report.failures[0]}${more}`, {
      file: verify.packageDir,
      hint: 'run release:verify for every problem, then release:assemble',
    });
  }
  log(`preflight: package verified (${report.files} files, signed by ${report.fingerprint})`);
}

/**
 * The second half, which changes nothing remote: the repository's credentials and bucket work and
 * accept a test write, the registry accepts the credentials.
 */
export async function checkDestinations(c: Destinations): Promise<void> {
  await c.repository.checkAccess();
  await c.repository.probeWrite();
  c.log(`preflight: ${c.repository.location} accepts writes`);
  if (c.registry) {
    await checkRegistry(c.registry.docker, c.registry.name, c.registry.auth);
    const pushes = c.registry.auth ? `the credentials from ${c.registry.auth.source}` : 'anonymous pushes';
    c.log(`preflight: registry ${c.registry.name} accepts ${pushes}`);
  }
}
