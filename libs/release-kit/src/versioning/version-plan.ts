import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReleaseError } from '../support/errors';
import { bumpCommitMessage, checkTitle, nextVersion, tagMessage, VersionRequest, versionTag } from './bump';
import { CommitMessage, groupCommits, GroupedChanges, renderReleaseNotes } from './release-notes';

export interface VersionHistory {
  /** `git status --porcelain` lines: anything here refuses the bump. */
  dirty: string[];
  /** The newest `v*` tag reachable from HEAD. */
  lastTag?: string;
  /** Whether a tag exists. */
  tagExists: (tag: string) => boolean;
  /** Commits since `lastTag` (all commits without one), oldest first. */
  commits: CommitMessage[];
}

export interface VersionPlan {
  previousVersion: string;
  version: string;
  tag: string;
  tagMessage: string;
  commitMessage: string;
  releaseNotes: string;
  changes: GroupedChanges;
}

export function planVersionBump(input: {
  currentVersion: string;
  request: VersionRequest;
  title: string;
  previousNotes?: string;
  history: VersionHistory;
}): VersionPlan {
  const { history } = input;
  if (history.dirty.length) {
    const shown =
      history.dirty
        .slice(0, 10)
        .map((l) => `\n    ${l}`)
        .join('') + (history.dirty.length > 10 ? `\n    ... ${history.dirty.length - 10} more` : '');
    throw new ReleaseError(`the git working tree is not clean; commit or stash these first:${shown}`, {
      hint: 'a version bump commits only VERSION and the release notes',
    });
  }
  const title = checkTitle(input.title);
  const version = nextVersion(input.currentVersion, input.request);
  const tag = versionTag(version);
  if (history.tagExists(tag))
    throw new ReleaseError(`the tag ${tag} already exists`, {
      hint: `pick another version, or delete the tag with \`git tag -d ${tag}\` if it was made by mistake`,
    });
  const changes = groupCommits(history.commits);
  return {
    previousVersion: input.currentVersion,
    version,
    tag,
    tagMessage: tagMessage(version, title),
    commitMessage: bumpCommitMessage(version),
    releaseNotes: renderReleaseNotes({
      previousVersion: input.currentVersion,
      version,
      title,
      previousTag: history.lastTag,
      changes,
      previousNotes: input.previousNotes,
    }),
    changes,
  };
}

function gitRunner(root: string) {
  return (...args: string[]) =>
    execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 }).toString('utf8');
}

/** Reads what a version bump needs from the git repository at `root`. */
export function readVersionHistory(root: string): VersionHistory {
  const git = gitRunner(root);
  try {
    git('rev-parse', '--verify', 'HEAD');
  } catch {
    throw new ReleaseError(`${root} is not a git repository with a commit`, {
      hint: 'the version bump reads the commits since the last v* tag',
    });
  }
  const dirty = git('status', '--porcelain', '--untracked-files=normal').split('\n').filter(Boolean);
  let lastTag: string | undefined;
  try {
    lastTag = git('describe', '--tags', '--abbrev=0', '--match', 'v*', 'HEAD').trim() || undefined;
  } catch {
    lastTag = undefined;
  }
  const log = git('log', '--reverse', '--format=%h%x1f%s%x1f%b%x1e', ...(lastTag ? [`${lastTag}..HEAD`] : ['HEAD']));
  const commits = log
    .split('\x1e')
    .map((record) => record.replace(/^\n/, ''))
    .filter((record) => record.includes('\x1f'))
    .map((record) => {
      const [hash, subject, body] = record.split('\x1f');
      return { hash, subject, body: body.trim() };
    });
  return {
    dirty,
    lastTag,
    tagExists: (tag) => {
      try {
        git('rev-parse', '-q', '--verify', `refs/tags/${tag}`);
        return true;
      } catch {
        return false;
      }
    },
    commits,
  };
}

/**
 * Writes the bumped files (workspace-relative path -> content), commits them ("Bump version
 * to X") and creates the annotated tag v<X>. If git fails before the commit, the files get
 * their previous content back, so a failed bump leaves the tree as it was.
 */
export function applyVersionBump(root: string, plan: VersionPlan, files: Record<string, string>): { commit: string } {
  const git = gitRunner(root);
  const paths = Object.keys(files);
  const previous = new Map(paths.map((p) => [p, existsSync(join(root, p)) ? readFileSync(join(root, p)) : undefined]));
  let committed = false;
  try {
    for (const p of paths) writeFileSync(join(root, p), files[p]);
    git('add', '--', ...paths);
    git('commit', '-q', '-m', plan.commitMessage, '--', ...paths);
    committed = true;
    git('tag', '-a', plan.tag, '-m', plan.tagMessage);
  } catch (e) {
    if (!committed) {
      for (const [p, content] of previous) {
        if (content === undefined) rmSync(join(root, p), { force: true });
        else writeFileSync(join(root, p), content);
      }
      try {
        git('reset', '-q', '--', ...paths);
      } catch {
        // nothing staged
      }
    }
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    const step = committed
      ? `tagging ${plan.tag} (the commit "${plan.commitMessage}" was made)`
      : `committing ${plan.version} (nothing was changed)`;
    throw new ReleaseError(`git failed while ${step}: ${stderr || (e as Error).message}`, {
      hint: 'set user.name and user.email (git config) if git asks for an identity',
    });
  }
  return { commit: git('rev-parse', 'HEAD').trim() };
}
