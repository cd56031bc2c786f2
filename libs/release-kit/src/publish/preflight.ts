import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import { ReleaseError } from '../support/errors';
import { verifyRelease, VerifyOptions } from '../verifier/verify-release';
import { ArtifactRepository } from './artifact-repository';
import { checkRegistry, RegistryAuth } from './registry-push';

export interface PreflightChecks {
  verify: VerifyOptions;
  repository: ArtifactRepository;
  registry?: { docker: Docker; name: string; auth?: RegistryAuth };
  log: (line: string) => void;
}

/**
 * Everything that can be known before the first byte is uploaded: the package is there and
 * verifies, the repository's credentials and bucket work and accept a write, the registry
 * accepts the credentials. A failure here changes nothing remote.
 */
export async function preflight(c: PreflightChecks): Promise<void> {
  for (const file of [c.verify.packageDir, c.verify.tarGz!, c.verify.zip!, c.verify.publicKeyFile]) {
    if (!existsSync(file))
      throw new ReleaseError('is missing: there is no release package to publish', { file, hint: 'run release:assemble first' });
  }
  const report = await verifyRelease(c.verify);
  if (report.failures.length) {
    const more = report.failures.length > 1 ? ` (and ${report.failures.length - 1} more problems)` : '';
    throw new ReleaseError(`the package fails verification, so it is not published: ${report.failures[0]}${more}`, {
      file: c.verify.packageDir,
      hint: 'run release:verify for every problem, then release:assemble',
    });
  }
  c.log(`preflight: package verified (${report.files} files, signed by ${report.fingerprint})`);
  await c.repository.checkAccess();
  await c.repository.probeWrite();
  c.log(`preflight: ${c.repository.location} accepts writes`);
  if (c.registry) {
    await checkRegistry(c.registry.docker, c.registry.name, c.registry.auth);
    const pushes = c.registry.auth ? `the credentials from ${c.registry.auth.source}` : 'anonymous pushes';
    c.log(`preflight: registry ${c.registry.name} accepts ${pushes}`);
  }
}
