import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import * as semver from 'semver';
import { ReleaseError } from './errors';
import { parseJsonText } from './yaml-file';
import { parseVersion } from './version';

/** The content of a VERSION file: one SemVer line (as readVersion, for text from an Nx Tree). */
export function parseVersionText(text: string, source = 'VERSION'): string {
  const lines = text.split('\n');
  if (lines.length > 2 || (lines.length === 2 && lines[1] !== '')) throw new ReleaseError('VERSION must hold exactly one line', source, 2);
  return parseVersion(lines[0].replace(/\r$/, ''), source);
}

/** Workspace-relative path of the release notes source named by the release config text. */
export function releaseNotesSource(configText: string, releaseDir = 'libs/release', shownAs = `${releaseDir}/release.config.json`): string {
  const config = parseJsonText(configText, shownAs) as { templates?: { releaseNotes?: unknown } };
  const notes = config?.templates?.releaseNotes;
  if (typeof notes !== 'string' || !notes) throw new ReleaseError('templates.releaseNotes is missing', shownAs);
  return posix.normalize(posix.join(releaseDir, notes));
}

// ---------------------------------------------------------------------------------------------
// Semantic version bumps (spec "Versioning": MAJOR.MINOR.PATCH, SemVer 2.0.0)
// ---------------------------------------------------------------------------------------------

export const VERSION_BUMPS = ['major', 'minor', 'patch', 'premajor', 'preminor', 'prepatch', 'prerelease'] as const;
export type VersionBump = (typeof VERSION_BUMPS)[number];

export interface VersionRequest {
  /** How to bump the current version. */
  bump?: VersionBump;
  /** Pre-release identifier for the pre* bumps, e.g. `rc` (2.5.0 -> prerelease -> 2.5.1-rc.0). */
  preid?: string;
  /** An explicit new version instead of a bump (`--to`). */
  version?: string;
}

/** The next version: strictly greater than `current` by SemVer precedence, or an error. */
export function nextVersion(current: string, request: VersionRequest): string {
  parseVersion(current);
  if ((request.bump === undefined) === (request.version === undefined)) {
    throw new ReleaseError(`give either --bump (${VERSION_BUMPS.join('|')}) or --to=<x.y.z>, not ${request.bump ? 'both' : 'neither'}`);
  }
  if (request.preid !== undefined && !/^[0-9A-Za-z-]+$/.test(request.preid)) {
    throw new ReleaseError(`--preid="${request.preid}" is not a pre-release identifier (letters, digits and "-", e.g. rc)`);
  }
  let next: string;
  if (request.version !== undefined) {
    next = parseVersion(request.version, '--to');
  } else {
    if (!(VERSION_BUMPS as readonly string[]).includes(request.bump!)) {
      throw new ReleaseError(`--bump=${request.bump} is not one of ${VERSION_BUMPS.join(', ')}`);
    }
    if (request.preid !== undefined && !request.bump!.startsWith('pre')) {
      throw new ReleaseError(`--preid applies to premajor, preminor, prepatch and prerelease, not to --bump=${request.bump}`);
    }
    const bumped = request.preid === undefined ? semver.inc(current, request.bump!) : semver.inc(current, request.bump!, request.preid);
    if (bumped === null) throw new ReleaseError(`cannot bump ${current} by ${request.bump}`);
    next = bumped;
  }
  if (!semver.gt(next, current)) {
    throw new ReleaseError(`the new version ${next} is not greater than the current version ${current}`, 'VERSION', 1, 'versions only move forward (SemVer precedence); pick a higher version');
  }
  return next;
}

/** The spec's tag name and its annotation: `v2.5.0`, "Release v2.5.0 - VR Performance Optimizations". */
export function versionTag(version: string): string {
  return `v${version}`;
}

export function tagMessage(version: string, title: string): string {
  return `Release ${versionTag(version)} - ${checkTitle(title)}`;
}

export function bumpCommitMessage(version: string): string {
  return `Bump version to ${version}`;
}

function checkTitle(title: string | undefined): string {
  const t = (title ?? '').trim();
  if (!t) throw new ReleaseError('--title is missing: the release needs a title (e.g. --title="VR Performance Optimizations")');
  if (/[\r\n]/.test(t)) throw new ReleaseError('--title must be one line');
  return t;
}

// ---------------------------------------------------------------------------------------------
// Docker image tags (spec "Docker Image Tags")
// ---------------------------------------------------------------------------------------------

export interface DockerTagOptions {
  /** A development build (not a release): tagged `dev` only, never a version tag. */
  development?: boolean;
}

/**
 * The tags of the image built for `version`:
 * - a final release 2.5.0: `2.5.0` (what the overlays deploy), `v2.5.0`, `v2.5`, `v2`, `latest`;
 * - a pre-release 2.6.0-rc.1: `2.6.0-rc.1` and `v2.6.0-rc.1` only (it never moves `v2.6`, `v2` or `latest`);
 * - a development build: `dev`.
 * Build metadata (`+build.7`) is not allowed in a Docker tag and is written with `_` instead of `+`.
 */
export function dockerTags(version: string, options: DockerTagOptions = {}): string[] {
  const v = parseVersion(version);
  if (options.development) return ['dev'];
  const exact = v.replace(/\+/g, '_');
  const tags = [exact, `v${exact}`];
  if (semver.prerelease(v) === null) {
    const major = semver.major(v);
    const minor = semver.minor(v);
    tags.push(`v${major}.${minor}`, `v${major}`, 'latest');
  }
  for (const tag of tags) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new ReleaseError(`"${tag}" (from version ${version}) is not a valid Docker tag`);
  }
  return tags;
}

// ---------------------------------------------------------------------------------------------
// Conventional commits -> release notes
// ---------------------------------------------------------------------------------------------

export interface CommitMessage {
  /** Short hash. */
  hash: string;
  subject: string;
  body: string;
}

export interface ConventionalCommit {
  hash: string;
  type: string;
  scope?: string;
  description: string;
  breaking: boolean;
  /** The BREAKING CHANGE footer's text, or the description for `type!:`. */
  breakingNote?: string;
}

const HEADER = /^([A-Za-z]+)(?:\(([^()\r\n]+)\))?(!)?: +(\S.*)$/;
const BREAKING_FOOTER = /^BREAKING[ -]CHANGE: *(.*(?:\n(?!\n).*)*)/m;

/** Parses `type(scope)!: description` and a `BREAKING CHANGE:` footer; other messages give undefined. */
export function parseConventionalCommit(commit: CommitMessage): ConventionalCommit | undefined {
  const header = HEADER.exec(commit.subject.trim());
  if (!header) return undefined;
  const [, type, scope, bang, description] = header;
  const footer = BREAKING_FOOTER.exec(commit.body);
  const breakingNote = footer ? footer[1].replace(/\s*\n\s*/g, ' ').trim() || description : bang ? description : undefined;
  return { hash: commit.hash, type: type.toLowerCase(), scope, description: description.trim(), breaking: breakingNote !== undefined, breakingNote };
}

export interface ChangeEntry {
  hash: string;
  scope?: string;
  text: string;
}

export interface GroupedChanges {
  breaking: ChangeEntry[];
  features: ChangeEntry[];
  fixes: ChangeEntry[];
  performance: ChangeEntry[];
}

/** Groups commits (oldest first) into the release notes' sections; other types are left out. */
export function groupCommits(commits: CommitMessage[]): GroupedChanges {
  const groups: GroupedChanges = { breaking: [], features: [], fixes: [], performance: [] };
  for (const commit of commits) {
    const c = parseConventionalCommit(commit);
    if (!c) continue;
    const entry = (text: string): ChangeEntry => ({ hash: c.hash, ...(c.scope ? { scope: c.scope } : {}), text });
    if (c.breaking) groups.breaking.push(entry(c.breakingNote!));
    if (c.type === 'feat') groups.features.push(entry(c.description));
    else if (c.type === 'fix') groups.fixes.push(entry(c.description));
    else if (c.type === 'perf') groups.performance.push(entry(c.description));
  }
  return groups;
}

export interface ReleaseNotesInput {
  previousVersion: string;
  version: string;
  title: string;
  /** The last `v*` tag the changes are counted from; none for the first release. */
  previousTag?: string;
  changes: GroupedChanges;
  /** The current notes source: its generic sections (e.g. "Verifying This Release") are kept. */
  previousNotes?: string;
}

/** Sections of the current notes that hold for every release and are carried over. */
const KEPT_SECTIONS = ['Verifying This Release'];

/**
 * RELEASE_NOTES.source.md for a new version. `{{version}}` stays a token: the package step
 * fills it in (libs/release-kit/src/root-documents.ts), and adds the full commit list.
 */
export function renderReleaseNotes(input: ReleaseNotesInput): string {
  const title = checkTitle(input.title);
  const kind = releaseKind(input.previousVersion, input.version);
  const since = input.previousTag ? `since ${input.previousTag}` : 'since the first commit';
  const out = [
    `# SpaceTime VR {{version}}: ${title}`,
    '',
    `**Release:** {{version}}`,
    `**Type:** ${kind}`,
    `**Previous version:** ${input.previousVersion}`,
    '',
    `Changes ${since}, from the conventional commit messages (\`feat\`, \`fix\`, \`perf\`, \`BREAKING CHANGE\`).`,
  ];
  const sections: Array<[string, ChangeEntry[]]> = [
    ['Breaking Changes', input.changes.breaking],
    ['New Features', input.changes.features],
    ['Fixes', input.changes.fixes],
    ['Performance', input.changes.performance],
  ];
  let any = false;
  for (const [heading, entries] of sections) {
    if (!entries.length) continue;
    any = true;
    out.push('', `## ${heading}`, '');
    for (const e of entries) out.push(`- ${e.scope ? `**${e.scope}:** ` : ''}${e.text} (${e.hash})`);
  }
  if (!any) out.push('', `No \`feat\`, \`fix\`, \`perf\` or breaking commits ${since}.`);
  for (const heading of KEPT_SECTIONS) {
    const kept = input.previousNotes ? markdownSection(input.previousNotes, heading) : undefined;
    if (kept) out.push('', kept);
  }
  return `${out.join('\n')}\n`;
}

function releaseKind(previous: string, next: string): string {
  const pre = semver.prerelease(next) !== null;
  const diff = semver.diff(previous, next) ?? 'patch';
  const base = diff.replace(/^pre(?!release)/, '');
  const word = base === 'prerelease' ? 'pre-release' : `${base} release`;
  if (!pre) return base === 'major' ? 'major release (breaking changes)' : base === 'minor' ? 'minor release (backward compatible)' : 'patch release (bug fixes)';
  return word === 'pre-release' ? 'pre-release' : `pre-release of a ${word}`;
}

/** `## <heading>` and its text up to the next `## ` heading, trimmed. */
function markdownSection(text: string, heading: string): string | undefined {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) return undefined;
  let end = start + 1;
  let fence = false;
  for (; end < lines.length; end++) {
    if (/^\s*```/.test(lines[end])) fence = !fence;
    if (!fence && /^## /.test(lines[end])) break;
  }
  return lines.slice(start, end).join('\n').trimEnd();
}

// ---------------------------------------------------------------------------------------------
// The version bump as a whole: checks, then files, then (the executor) commit and tag
// ---------------------------------------------------------------------------------------------

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
    const shown = history.dirty.slice(0, 10).map((l) => `\n    ${l}`).join('') + (history.dirty.length > 10 ? `\n    ... ${history.dirty.length - 10} more` : '');
    throw new ReleaseError(`the git working tree is not clean; commit or stash these first:${shown}`, undefined, undefined, 'a version bump commits only VERSION and the release notes');
  }
  const title = checkTitle(input.title);
  const version = nextVersion(input.currentVersion, input.request);
  const tag = versionTag(version);
  if (history.tagExists(tag)) throw new ReleaseError(`the tag ${tag} already exists`, undefined, undefined, `pick another version, or delete the tag with \`git tag -d ${tag}\` if it was made by mistake`);
  const changes = groupCommits(history.commits);
  return {
    previousVersion: input.currentVersion,
    version,
    tag,
    tagMessage: tagMessage(version, title),
    commitMessage: bumpCommitMessage(version),
    releaseNotes: renderReleaseNotes({ previousVersion: input.currentVersion, version, title, previousTag: history.lastTag, changes, previousNotes: input.previousNotes }),
    changes,
  };
}

function gitRunner(root: string) {
  return (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 }).toString('utf8');
}

/** Reads what a version bump needs from the git repository at `root`. */
export function readVersionHistory(root: string): VersionHistory {
  const git = gitRunner(root);
  try {
    git('rev-parse', '--verify', 'HEAD');
  } catch {
    throw new ReleaseError(`${root} is not a git repository with a commit`, undefined, undefined, 'the version bump reads the commits since the last v* tag');
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
    throw new ReleaseError(
      `git failed while ${committed ? `tagging ${plan.tag} (the commit "${plan.commitMessage}" was made)` : `committing ${plan.version} (nothing was changed)`}: ${stderr || (e as Error).message}`,
      undefined,
      undefined,
      'set user.name and user.email (git config) if git asks for an identity',
    );
  }
  return { commit: git('rev-parse', 'HEAD').trim() };
}
