import type { ExecutorContext } from '@nx/devkit';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { archiveNames, packageFolderName, PUBLIC_KEY_FILE } from '@spacetime/release-kit/src/format/layout';
import { loadReleaseConfig } from '@spacetime/release-kit/src/format/release-config';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { withOutputLock } from '@spacetime/release-kit/src/support/output-lock';
import { normaliseFingerprint } from '@spacetime/release-kit/src/verifier/signature';
import { verifyRelease } from '@spacetime/release-kit/src/verifier/verify-release';
import { readVersion } from '@spacetime/release-kit/src/versioning/version-file';
import { runExecutor } from '../run-executor';
import type { VerifyExecutorSchema } from './schema';

export default async function verify(options: VerifyExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const configFile = options.config;
    const config = loadReleaseConfig(join(context.root, configFile), configFile);
    const version = readVersion(join(context.root, 'VERSION'));
    const outputDir = join(context.root, options.outputDir);
    const names = archiveNames(version);
    const fingerprint = options.fingerprint === undefined ? undefined : normaliseFingerprint(options.fingerprint);
    if (options.fingerprint !== undefined && !fingerprint)
      throw new ReleaseError(`option "fingerprint": ${options.fingerprint} is not a 40 or 64 digit hex fingerprint`);
    const check = () =>
      verifyRelease({
        packageDir: join(outputDir, packageFolderName(version)),
        sections: config.sections,
        publicKeyFile: options.key ? join(context.root, options.key) : join(outputDir, PUBLIC_KEY_FILE),
        fingerprint,
        tarGz: join(outputDir, names.tarGz),
        zip: join(outputDir, names.zip),
        requireProvenance: true,
      });
    // Under the assemble lock: an assembly running now is waited for, and one that died while
    // swapping its outputs into place has its swap finished first.
    const report = existsSync(outputDir) ? await withOutputLock(outputDir, options.outputDir, console.log, check) : await check();
    for (const failure of report.failures) console.error(`FAIL ${failure}`);
    if (report.failures.length)
      throw new ReleaseError(`${packageFolderName(version)}: verification failed (${report.failures.length} problems)`);
    console.log(
      `${packageFolderName(version)}: verified ${report.files} files, SHA256SUMS, ` +
        `signature by ${report.fingerprint}, MANIFEST.json, .tar.gz and .zip, ` +
        `provenance attestation (built by ${report.provenance?.builder}); ` +
        `configuration ${report.configuration}, signing mode ${report.signing?.mode}` +
        (report.signing?.development ? ' (a development package: not for release)' : ''),
    );
  });
}
