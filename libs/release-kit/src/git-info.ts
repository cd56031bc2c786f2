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
  try {
    git('rev-parse', '--verify', 'HEAD');
  } catch {
    return undefined;
  }
  let previousTag: string | undefined;
  try {
    previousTag = git('describe', '--tags', '--abbrev=0', '--match', 'v*', '--exclude', `v${version}`, 'HEAD') || undefined;
  } catch {
    previousTag = undefined;
  }
  const range = previousTag ? [`${previousTag}..HEAD`] : ['HEAD'];
  const log = git('log', `--max-count=${MAX_LISTED_COMMITS}`, '--format=%h %s', ...range);
  return {
    commit: git('rev-parse', 'HEAD'),
    branch: git('rev-parse', '--abbrev-ref', 'HEAD'),
    commitTime: Number(git('log', '-1', '--format=%ct', 'HEAD')),
    dirty: git('status', '--porcelain', '--untracked-files=normal') !== '',
    previousTag,
    commitsSincePreviousTag: log ? log.split('\n') : [],
  };
}
