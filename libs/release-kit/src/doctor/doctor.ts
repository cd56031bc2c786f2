import { ReleaseError } from '../support/errors';
import { Check, CheckStage, CheckStatus, DoctorInput, DoctorMode } from './check';
import { checkDocker } from './docker-check';
import { checkEngines } from './engine-check';
import { checkPublishing } from './publishing-check';
import { checkSigning } from './signing-check';
import { checkSource } from './source-check';
import { checkToolchain } from './tools-check';

export interface DoctorReport {
  mode: DoctorMode;
  checks: Check[];
  counts: Record<CheckStatus, number>;
}

/** The areas that do not depend on one another, each asked at once. */
const INDEPENDENT_AREAS = [checkSigning, checkSource, checkPublishing, checkToolchain];

/**
 * What a build and a publish would meet on this machine, judged as they would judge it in `mode`.
 * The engine is looked for first (synchronously, as the build does): an image build in development
 * depends on whether its export runs.
 */
export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const independent = Promise.all(INDEPENDENT_AREAS.map((area) => area(input)));
  const engine = checkEngines(input);
  const docker = await checkDocker(input, engine.exported);
  const checks = [...engine.checks, ...docker, ...(await independent).flat()];
  const counts = { ok: 0, warning: 0, error: 0 };
  for (const check of checks) counts[check.status] += 1;
  return { mode: input.mode, checks, counts };
}

/** Stops with every error of `stage` and its fix: what a production assembly refuses before it starts. */
export function refuseErrors(report: DoctorReport, stage: CheckStage): void {
  const errors = report.checks.filter((c) => c.status === 'error' && c.stage === stage);
  if (errors.length === 0) return;
  const lines = errors.map((c) => `  - ${c.area} ${c.name}: ${c.found}\n    fix: ${c.fix}`);
  throw new ReleaseError(`release:doctor finds what a ${report.mode} ${stage} refuses:\n${lines.join('\n')}`);
}
