import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

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
  /** The `origin` remote's URL without credentials (see `withoutCredentials`), when it is a network URL. */
  remoteUrl?: string;
}

const MAX_LISTED_COMMITS = 500;

/** The first four git commands run side by side: `git status` alone stats every file of the workspace. */
export async function readGitInfo(workspaceRoot: string, version: string): Promise<GitInfo | undefined> {
  const git = async (...args: string[]) =>
    (await run('git', args, { cwd: workspaceRoot, encoding: 'utf8', maxBuffer: 1 << 26 })).stdout.trim();
  const [head, status, tag, remote] = await Promise.allSettled([
    git('log', '-1', '--format=%H %ct', 'HEAD'),
    // One `git status` answers both the branch (`# branch.head`) and whether the tree is dirty (any other line).
    git('status', '--porcelain=v2', '--branch', '--untracked-files=normal'),
    git('describe', '--tags', '--abbrev=0', '--match', 'v*', '--exclude', `v${version}`, 'HEAD'),
    git('remote', 'get-url', 'origin'),
  ]);
  if (head.status === 'rejected') return undefined;
  if (status.status === 'rejected') throw status.reason;
  const [commit, commitTime] = head.value.split(' ');
  const lines = status.value.split('\n');
  const branchHead = lines.find((l) => l.startsWith('# branch.head '))?.slice('# branch.head '.length);
  const previousTag = (tag.status === 'fulfilled' && tag.value) || undefined;
  const log = await git(
    'log',
    `--max-count=${MAX_LISTED_COMMITS}`,
    '--format=%h %s',
    ...(previousTag ? [`${previousTag}..HEAD`] : ['HEAD']),
  );
  return {
    commit,
    branch: !branchHead || branchHead === '(detached)' ? 'HEAD' : branchHead,
    commitTime: Number(commitTime),
    dirty: lines.some((l) => l !== '' && !l.startsWith('# ')),
    previousTag,
    commitsSincePreviousTag: log ? log.split('\n') : [],
    remoteUrl: remote.status === 'fulfilled' ? withoutCredentials(remote.value) : undefined,
  };
}

/**
 * A remote's URL as it may be published: no user, password, query or fragment (a CI checkout's
 * URL often carries a token, as in https://gitlab-ci-token:<token>@host/group/project.git); an
 * scp-like `user@host:path` becomes `ssh://host/path`. A local path or file:// URL, which would
 * name a folder of the machine, gives undefined.
 */
export function withoutCredentials(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/\/)(.+)$/.exec(url);
    return scp ? withoutCredentials(`ssh://${scp[1]}/${scp[2].replace(/^\/+/, '')}`) : undefined;
  }
  if (parsed.protocol === 'file:' || !parsed.host) return undefined;
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}
