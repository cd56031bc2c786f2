import { execFileSync } from 'node:child_process';

export interface GitInfo {
  commit: string;
  branch: string;
  /** The last commit's time, seconds since 1970. */
  commitTime: number;
  dirty: boolean;
  /** The newest `v*` tag before this version, if any. */
  previousTag?: string;
  /** `<short sha> <subject>` of each commit since `previousTag` (all commits if none), newest first. */
  commitsSincePreviousTag: string[];
}

const MAX_LISTED_COMMITS = 500;

export function readGitInfo(workspaceRoot: string, version: string): GitInfo | undefined {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: workspaceRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString('utf8').trim();
  let head: string;
  try {
    head = git('log', '-1', '--format=%H %ct', 'HEAD');
  } catch {
    return undefined;
  }
  const [commit, commitTime] = head.split(' ');
  // One `git status` answers both the branch (`# branch.head`) and whether the tree is dirty (any other line).
  const status = git('status', '--porcelain=v2', '--branch', '--untracked-files=normal').split('\n');
  const branchHead = status.find((l) => l.startsWith('# branch.head '))?.slice('# branch.head '.length);
  let previousTag: string | undefined;
  try {
    previousTag = git('describe', '--tags', '--abbrev=0', '--match', 'v*', '--exclude', `v${version}`, 'HEAD') || undefined;
  } catch {
    previousTag = undefined;
  }
  const range = previousTag ? [`${previousTag}..HEAD`] : ['HEAD'];
  const log = git('log', `--max-count=${MAX_LISTED_COMMITS}`, '--format=%h %s', ...range);
  return {
    commit,
    branch: !branchHead || branchHead === '(detached)' ? 'HEAD' : branchHead,
    commitTime: Number(commitTime),
    dirty: status.some((l) => l !== '' && !l.startsWith('# ')),
    previousTag,
    commitsSincePreviousTag: log ? log.split('\n') : [],
  };
}
