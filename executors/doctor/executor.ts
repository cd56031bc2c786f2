import { assertToolchain, doctor, formatDoctor } from '@spacetime/release-kit/src/validation/tools';
import { runExecutor } from '../run-executor';
import type { DoctorExecutorSchema } from './schema';

export default async function doctorExecutor(options: DoctorExecutorSchema) {
  return runExecutor(async () => {
    const reports = doctor();
    console.log(formatDoctor(reports));
    const bad = reports.filter((r) => r.status !== 'found');
    const missing = bad.length ? `; missing or too old: ${bad.map((r) => `${r.name} (${r.status})`).join(', ')}` : '';
    console.log(`\n${reports.length - bad.length} of ${reports.length} tools found at their minimum version${missing}`);
    if (options.strict) assertToolchain(reports);
  });
}
