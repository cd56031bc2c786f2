import { readGitInfo } from '../support/git-info';
import { Check, CheckStatus, DoctorInput } from './check';

function sourceCheck(status: CheckStatus, found: string, fix?: string): Check {
  return { area: 'Source', name: 'git tree', status, found, ...(fix ? { fix } : {}), stage: 'build' };
}

/** The production gate refuses a tree with uncommitted changes, or no git checkout; a development build does not mind. */
export async function checkSource(input: DoctorInput): Promise<Check[]> {
  const git = await readGitInfo(input.workspaceRoot, input.version).catch(() => undefined);
  const at = git ? `${git.branch} at ${git.commit.slice(0, 12)}` : '';
  const problem = !git
    ? { found: 'not a git checkout', fix: 'build a production release from a git clone' }
    : git.dirty
      ? { found: `uncommitted changes (${at})`, fix: 'commit them first' }
      : undefined;
  if (!problem) return [sourceCheck('ok', `clean (${at})`)];
  if (input.mode === 'development') return [sourceCheck('ok', `${problem.found}; a production release refuses that`)];
  return [sourceCheck('error', problem.found, problem.fix)];
}
