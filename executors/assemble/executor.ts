import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import { assembleRelease } from '@spacetime/release-kit';
import { runExecutor } from '../run-executor';
import type { AssembleExecutorSchema } from './schema';

export default async function assemble(options: AssembleExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const result = await assembleRelease({
      workspaceRoot: context.root,
      config: options.config ?? 'libs/release/release.config.json',
      sectionsDir: options.sectionsDir ?? 'dist/sections',
      outputDir: options.outputDir ?? 'dist/release',
      production: options.production ?? false,
      log: (line) => console.warn(line),
    });
    const show = (p: string) => relative(context.root, p);
    console.log(`spacetime-vr ${result.version} (${result.manifest.configuration}, ${result.manifest.files.length} files, signed ${result.manifest.signing.fingerprint}):`);
    for (const path of [result.packageDir, result.tarGz, result.zip, result.publicKey, result.verifier]) console.log(`  ${show(path)}`);
  });
}
