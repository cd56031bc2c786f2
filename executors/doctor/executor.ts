import type { ExecutorContext } from '@nx/devkit';
import { runDoctor } from '@spacetime/release-kit/src/doctor/doctor';
import { doctorJson, formatDoctor } from '@spacetime/release-kit/src/doctor/format';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { doctorInput } from '../doctor-input';
import { runExecutor } from '../run-executor';
import type { DoctorExecutorSchema } from './schema';

export default async function doctorExecutor(options: DoctorExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const report = await runDoctor(doctorInput(context, options.production ? 'production' : 'development'));
    if (options.json) process.stdout.write(doctorJson(report));
    else console.log(formatDoctor(report));
    if (options.strict && report.counts.error > 0) throw new ReleaseError(`release:doctor found ${report.counts.error} errors (strict)`);
  });
}
