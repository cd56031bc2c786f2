import { checkTools } from '../validation/tools';
import { Check, DoctorInput, skipOrStop } from './check';

/**
 * The tools the checks and the release use. A missing one is a skipped check in development and
 * an error in production validation; one older than its minimum is refused in production too.
 */
export async function checkToolchain(input: DoctorInput): Promise<Check[]> {
  return (await checkTools()).map((tool): Check => {
    const base = { area: 'Tools' as const, name: tool.name, stage: 'build' as const };
    if (tool.status === 'found')
      return { ...base, status: 'ok', found: `${tool.found} at ${tool.path} (>= ${tool.minimum}): ${tool.purpose}` };
    const found =
      tool.status === 'missing'
        ? `${tool.found ? `${tool.path}: ${tool.found}` : 'not installed'}; needs >= ${tool.minimum}: ${tool.purpose}`
        : `${tool.found} at ${tool.path} is older than ${tool.minimum}: ${tool.purpose}`;
    return { ...base, status: skipOrStop(input.mode), found, fix: tool.install };
  });
}
