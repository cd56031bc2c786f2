import { mkdirSync } from 'node:fs';
import { relative } from 'node:path';
import { fileSystemError } from '../support/errors';
import { withOutputLock } from '../support/output-lock';
import { AssembleContext, AssembleOptions, AssembleResult, AssembleStep } from './context';
import { archives } from './steps/archives';
import { besideFiles } from './steps/beside-files';
import { rootDocuments } from './steps/documents';
import { readInputs } from './steps/inputs';
import { lastAssembly } from './steps/last-assembly';
import { planOutputs } from './steps/output-plan';
import { packageFolder } from './steps/package-folder';
import { productionGate } from './steps/production-gate';
import { provenance } from './steps/provenance';
import { rootFiles } from './steps/root-files';
import { scanSpareFolder } from './steps/scan-spare-folder';
import { securityEvidence } from './steps/security-evidence';
import { swap } from './steps/swap';
import { recordState } from './steps/state';

export type { AssembleOptions, AssembleResult } from './context';

/** What the release is made of, and whether it may be built: nothing is written yet. */
export const PREPARE_STEPS: AssembleStep[] = [readInputs, productionGate, rootDocuments, securityEvidence, planOutputs];

/** Under the output folder's lock: every output written aside, then moved into place whole. */
export const WRITE_STEPS: AssembleStep[] = [
  lastAssembly,
  scanSpareFolder,
  rootFiles,
  packageFolder,
  archives,
  provenance,
  besideFiles,
  swap,
  recordState,
];

/**
 * Joins the sections' cached package outputs into the release: the package folder, its
 * MANIFEST.json, SHA256SUMS and signature, the .tar.gz and .zip, the signed provenance
 * attestation, the public key and the verifier.
 */
export async function assembleRelease(options: AssembleOptions): Promise<AssembleResult> {
  const ctx = new AssembleContext(options);
  await runSteps(ctx, PREPARE_STEPS);
  const show = (p: string) => relative(options.workspaceRoot, p) || '.';
  try {
    mkdirSync(ctx.outputDir, { recursive: true });
    return await withOutputLock(ctx.outputDir, options.outputDir, ctx.log, async () => {
      await runSteps(ctx, WRITE_STEPS);
      return ctx.result();
    });
  } catch (error) {
    throw fileSystemError(error, show, ctx.outputDir);
  }
}

/** Runs the steps in order until one finds the outputs up to date; a failure undoes the partial work. */
async function runSteps(ctx: AssembleContext, steps: AssembleStep[]): Promise<void> {
  for (const step of steps) {
    if (ctx.upToDate) return;
    const started = performance.now();
    try {
      await step.run(ctx);
      if (ctx.options.stepTimes) ctx.log(`step ${step.name}: ${((performance.now() - started) / 1000).toFixed(2)} s`);
    } catch (error) {
      await ctx.rollBack();
      throw error;
    }
  }
}
