import type { ExecutorContext } from '@nx/devkit';
import { join, relative } from 'node:path';
import { assembleRelease } from '@spacetime/release-kit/src/assemble/assemble';
import { refuseErrors, runDoctor } from '@spacetime/release-kit/src/doctor/doctor';
import { recordTaskGraph, TASK_GRAPH_FILE } from '@spacetime/release-kit/src/report/task-graph';
import { doctorInput } from '../doctor-input';
import { runExecutor } from '../run-executor';
import type { AssembleExecutorSchema } from './schema';

export default async function assemble(options: AssembleExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    // The spec's "Validate prerequisites" step: production stops on whatever release:doctor:production calls a build error.
    if (options.production) refuseErrors(await runDoctor(doctorInput(context, 'production')), 'build');
    const result = await assembleRelease({
      workspaceRoot: context.root,
      config: options.config,
      sectionsDir: options.sectionsDir,
      outputDir: options.outputDir,
      validationDir: options.validationDir,
      production: options.production,
      target: [context.projectName, context.targetName, context.configurationName].filter(Boolean).join(':'),
      log: (line) => console.warn(line),
      // Nx sets it for --verbose.
      stepTimes: process.env.NX_VERBOSE_LOGGING === 'true',
    });
    // The report draws the graph of this run (ExecutorContext.taskGraph); see release:report.
    if (context.taskGraph) recordTaskGraph(join(context.root, options.outputDir, TASK_GRAPH_FILE), context.taskGraph);
    const show = (p: string) => relative(context.root, p);
    console.log(
      `spacetime-vr ${result.version} (${result.manifest.configuration}, ${result.manifest.files.length} files, ` +
        `signed ${result.manifest.signing.fingerprint}):`,
    );
    for (const path of [result.packageDir, result.tarGz, result.zip, result.attestation, result.publicKey, result.verifier])
      console.log(`  ${show(path)}`);
  });
}
