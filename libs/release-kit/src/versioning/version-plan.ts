import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as semver from 'semver';
import { ReleaseError } from '../support/errors';
import { writeAtomically } from '../support/write-atomically';
import {
  AUTO_BUMP,
  automaticBump,
  BumpRequest,
  bumpCommitMessage,
  checkTitle,
  levelRank,
  nextVersion,
  ReleaseLevel,
  releaseLevel,
  tagMessage,
  versionTag,
} from './bump';
import { CHANGELOG_FILE, renderChangelogEntry, updateChangelog } from './changelog';
import { analyseCommits, CommitMessage, ConventionalCommit, isFeature } from './conventional-commits';
import { changesHold, groupCommits, GroupedChanges, ReleaseKind, renderReleaseNotes } from './release-notes';
import { isPrerelease } from './version-file';

export interface VersionHistory {
  /** `git status --porcelain` lines: anything here refuses the bump. */
  dirty: string[];
  /** The highest `v<semver>` tag reachable from HEAD, a pre-release too: the notes count from it. */
  lastTag?: string;
  /** The highest such tag of a final release: the bump is judged by the commits since it. */
  lastReleaseTag?: string;
  /** Whether a tag exists. */
  tagExists: (tag: string) => boolean;
  /** Commits since `lastTag` (all commits without one), oldest first, merges left out. */
  commits: CommitMessage[];
  /** Commits since `lastReleaseTag`, when that is another tag than `lastTag`. */
  releaseCommits?: CommitMessage[];
}

export interface VersionPlanInput {
  currentVersion: string;
  /** How to bump (default `auto`), or `version` for an explicit version. */
  request: { bump?: BumpRequest; preid?: string; version?: string };
  /** Allow a version lower than the commits call for. */
  force?: boolean;
  /** Plan on a dirty tree (a dry run, which changes nothing). */
  allowDirty?: boolean;
  title: string;
  /** The release date for the changelog, `YYYY-MM-DD`. */
  date: string;
  previousNotes?: string;
  /** The current changelog, if there is one. */
  previousChangelog?: string;
  /** The changelog's workspace-relative path, for messages. */
  changelogFile?: string;
  history: VersionHistory;
}

export interface VersionPlan {
  previousVersion: string;
  version: string;
  /** How the version was chosen, for the log: `auto: minor`, `--bump=patch`, `--to=3.0.0`. */
  chosenBy: string;
  kind: ReleaseKind;
  tag: string;
  tagMessage: string;
  commitMessage: string;
  releaseNotes: string;
  changelogEntry: string;
  changelog: string;
  changes: GroupedChanges;
  /** The working tree's uncommitted changes (a dry run plans despite them). */
  dirty: string[];
}

/**
 * Decides the next version from the request and the conventional commits, and renders the release
 * notes and the changelog for it. `auto` takes the release the commits since the last final `v*`
 * tag call for; any other request that makes a lower release is refused unless `force`.
 */
export async function planVersionBump(input: VersionPlanInput): Promise<VersionPlan> {
  const { history } = input;
  if (history.dirty.length && !input.allowDirty) {
    const shown =
      history.dirty
        .slice(0, 10)
        .map((l) => `\n    ${l}`)
        .join('') + (history.dirty.length > 10 ? `\n    ... ${history.dirty.length - 10} more` : '');
    throw new ReleaseError(`the git working tree is not clean; commit or stash these first:${shown}`, {
      hint: 'a version bump commits only VERSION, the release notes and the changelog (--dry-run works on a dirty tree)',
    });
  }
  const title = checkTitle(input.title);
  const released = releasedVersion(input.currentVersion, history.lastReleaseTag);
  const preMajor = semver.major(released ?? input.currentVersion) === 0;
  const releaseRange = await analyseCommits(history.releaseCommits ?? history.commits, { preMajor });
  const notesRange = history.releaseCommits ? await analyseCommits(history.commits, { preMajor }) : releaseRange;
  const { version, chosenBy } = chooseVersion(input, released, releaseRange.level, history);
  const level = releaseLevel(released ?? input.currentVersion, version);
  // Without a release tag the commits are the whole history, which says nothing of what changed since VERSION.
  const required = history.lastReleaseTag ? releaseRange.level : undefined;
  if (required && levelRank(level) < levelRank(required) && !input.force)
    throw contradiction(chosenBy, version, level, required, releaseRange.commits, history.lastReleaseTag!);
  const tag = versionTag(version);
  if (history.tagExists(tag))
    throw new ReleaseError(`the tag ${tag} already exists`, {
      hint: `pick another version, or delete the tag with \`git tag -d ${tag}\` if it was made by mistake`,
    });
  const changes = groupCommits(notesRange.commits);
  const kind: ReleaseKind = {
    level,
    ...(required ? { required } : {}),
    prerelease: isPrerelease(version),
    holds: changesHold(groupCommits(releaseRange.commits)),
  };
  const changelogEntry = renderChangelogEntry({ version, date: input.date, kind, previousTag: history.lastTag, changes });
  return {
    previousVersion: input.currentVersion,
    version,
    chosenBy,
    kind,
    tag,
    tagMessage: tagMessage(version, title),
    commitMessage: bumpCommitMessage(version),
    releaseNotes: renderReleaseNotes({
      previousVersion: input.currentVersion,
      version,
      title,
      kind,
      previousTag: history.lastTag,
      changes,
      previousNotes: input.previousNotes,
    }),
    changelogEntry,
    changelog: updateChangelog(input.previousChangelog, version, changelogEntry, input.changelogFile ?? CHANGELOG_FILE),
    changes,
    dirty: history.dirty,
  };
}

/** The last final release: its tag's version, else the current version when it is final (none before a first release). */
function releasedVersion(current: string, lastReleaseTag: string | undefined): string | undefined {
  if (lastReleaseTag) return lastReleaseTag.slice(1);
  return isPrerelease(current) ? undefined : current;
}

function chooseVersion(
  input: VersionPlanInput,
  released: string | undefined,
  required: ReleaseLevel | undefined,
  history: VersionHistory,
): { version: string; chosenBy: string } {
  const { bump, preid, version } = input.request;
  if (version !== undefined || (bump !== undefined && bump !== AUTO_BUMP)) {
    const next = nextVersion(input.currentVersion, { bump: bump as Exclude<BumpRequest, 'auto'> | undefined, preid, version });
    return { version: next, chosenBy: version !== undefined ? `--to=${version}` : `--bump=${bump}` };
  }
  if (!required) {
    const since = history.lastReleaseTag ? `since ${history.lastReleaseTag}` : 'in the history';
    const count = (history.releaseCommits ?? history.commits).length;
    throw new ReleaseError(
      count
        ? `nothing to release: the ${count} commits ${since} are all of types that call for no release ` +
            '(docs, style, chore, refactor, test, build, ci)'
        : `nothing to release: there are no commits ${since}`,
      { hint: 'give --bump=<major|minor|patch> (or --to=<version>) to release anyway' },
    );
  }
  const chosen = automaticBump(input.currentVersion, required, released, preid);
  return { version: nextVersion(input.currentVersion, { bump: chosen, preid }), chosenBy: `auto: ${chosen}` };
}

function contradiction(
  chosenBy: string,
  version: string,
  level: ReleaseLevel,
  required: ReleaseLevel,
  commits: ConventionalCommit[],
  releaseTag: string,
): ReleaseError {
  const breaking = commits.filter((c) => c.breaking.length);
  const causes = breaking.length ? breaking : commits.filter(isFeature);
  const shown = causes
    .slice(0, 5)
    .map((c) => `\n    ${c.hash.slice(0, 7)} ${c.header}${c.breaking.length && !c.header.includes('!:') ? ' (BREAKING CHANGE)' : ''}`);
  const more = causes.length > 5 ? `\n    ... ${causes.length - 5} more` : '';
  return new ReleaseError(
    `${chosenBy} makes ${version}, a ${level} release, but the commits since ${releaseTag} ` +
      `call for a ${required} release:${shown.join('')}${more}`,
    { hint: `leave out --bump and --to (auto), or give --force to release them as ${version} anyway` },
  );
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
  const tags = git('tag', '--merged', 'HEAD', '--list', 'v*')
    .split('\n')
    .filter((t) => semver.valid(t.slice(1)) === t.slice(1))
    .sort((a, b) => semver.rcompare(a.slice(1), b.slice(1)));
  const lastTag = tags[0];
  const lastReleaseTag = tags.find((t) => !isPrerelease(t.slice(1)));
  const log = (from: string | undefined) => readCommits(git, from);
  return {
    dirty,
    lastTag,
    lastReleaseTag,
    tagExists: (tag) => {
      try {
        git('rev-parse', '-q', '--verify', `refs/tags/${tag}`);
        return true;
      } catch {
        return false;
      }
    },
    commits: log(lastTag),
    ...(lastReleaseTag !== lastTag ? { releaseCommits: log(lastReleaseTag) } : {}),
  };
}

/** The commits after `from` (all without it), oldest first, merges left out. */
function readCommits(git: (...args: string[]) => string, from: string | undefined): CommitMessage[] {
  return git('log', '--reverse', '--no-merges', '--format=%H%x1f%s%x1f%b%x1e', from ? `${from}..HEAD` : 'HEAD')
    .split('\x1e')
    .map((record) => record.replace(/^\n/, ''))
    .filter((record) => record.includes('\x1f'))
    .map((record) => {
      const [hash, subject, body] = record.split('\x1f');
      return { hash, subject, body: body.trim() };
    });
}

/**
 * Writes the bumped files (workspace-relative path -> content), each written aside and renamed
 * into place, commits them ("Bump version to X") and creates the annotated tag v<X>. If git fails
 * before the commit, the files get their previous content back, so a failed bump leaves the tree
 * as it was.
 */
export function applyVersionBump(root: string, plan: VersionPlan, files: Record<string, string>): { commit: string } {
  const git = gitRunner(root);
  const paths = Object.keys(files);
  const previous = new Map(paths.map((p) => [p, existsSync(join(root, p)) ? readFileSync(join(root, p)) : undefined]));
  let committed = false;
  try {
    for (const p of paths) writeAtomically(join(root, p), files[p]);
    git('add', '--', ...paths);
    git('commit', '-q', '-m', plan.commitMessage, '--', ...paths);
    committed = true;
    git('tag', '-a', plan.tag, '-m', plan.tagMessage);
  } catch (e) {
    if (!committed) {
      try {
        git('reset', '-q', '--', ...paths);
      } catch {
        // nothing staged
      }
      for (const [p, content] of previous) {
        if (content === undefined) rmSync(join(root, p), { force: true });
        else writeAtomically(join(root, p), content);
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
