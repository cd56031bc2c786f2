// The packages' own types: they export only `import`, which `moduleResolution: node` cannot follow.
import type { filterRevertedCommitsSync } from 'conventional-commits-filter/dist/index';
import type { Commit, CommitParser, ParserOptions } from 'conventional-commits-parser/dist/index';
import type { Bumper, WhatBumpResult } from 'conventional-recommended-bump/dist/index';
import { ReleaseLevel } from './bump';

/** One commit as git gives it. */
export interface CommitMessage {
  /** The full hash: a revert names the commit it reverts by it. */
  hash: string;
  subject: string;
  body: string;
}

/** A commit as the notes and the changelog use it. */
export interface ConventionalCommit {
  hash: string;
  /** `feat`, `fix`... in lower case (the specification makes types case-insensitive); none when the message is not conventional. */
  type?: string;
  scope?: string;
  /** The description, or the whole subject of a message that is not conventional. */
  subject: string;
  /** The subject line as written. */
  header: string;
  /** The texts of its BREAKING CHANGE notes; `type!:` without one gives the description. */
  breaking: string[];
}

export interface CommitAnalysis {
  /** Oldest first; a commit and its revert, both in the range, are left out. */
  commits: ConventionalCommit[];
  /** The release the commits call for; none when no commit is a feature, fix, revert or breaking change. */
  level?: ReleaseLevel;
}

interface Libraries {
  CommitParser: typeof CommitParser;
  Bumper: typeof Bumper;
  filterRevertedCommitsSync: typeof filterRevertedCommitsSync;
  createPreset: (config: { preMajor?: boolean; bumpStrict?: boolean }) => {
    parser: ParserOptions;
    whatBump: (commits: Commit[]) => WhatBumpResult;
  };
}

// An `import()` written in TypeScript is compiled to `require()` where swc loads this file (the
// tests, Nx's generators), and require() cannot load these packages: the call is made at run time.
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

let libraries: Promise<Libraries> | undefined;

function loadLibraries(): Promise<Libraries> {
  libraries ??= Promise.all(
    [
      'conventional-commits-parser',
      'conventional-recommended-bump',
      'conventional-commits-filter',
      'conventional-changelog-conventionalcommits',
    ].map(importModule),
  ).then(([parser, bump, filter, preset]) => ({
    CommitParser: parser.CommitParser as Libraries['CommitParser'],
    Bumper: bump.Bumper as Libraries['Bumper'],
    filterRevertedCommitsSync: filter.filterRevertedCommitsSync as Libraries['filterRevertedCommitsSync'],
    createPreset: preset.default as Libraries['createPreset'],
  }));
  return libraries;
}

/**
 * Parses the commits (oldest first) with conventional-commits-parser and the Conventional Commits
 * preset, drops each commit reverted within the range together with its revert
 * (conventional-commits-filter), and asks conventional-recommended-bump what release they need.
 * Before 1.0.0 (`preMajor`) a breaking change needs a minor release and a feature a patch.
 * Commits of hidden types (docs, chore, ci...) need none; a message that is not conventional
 * counts as a fix.
 */
export async function analyseCommits(messages: CommitMessage[], options: { preMajor: boolean }): Promise<CommitAnalysis> {
  const lib = await loadLibraries();
  const preset = lib.createPreset({ preMajor: options.preMajor, bumpStrict: true });
  const parser = new lib.CommitParser(preset.parser);
  const parsed = messages.map((m) => {
    const commit = parser.parse(m.body ? `${m.subject}\n\n${m.body}` : m.subject);
    commit.hash = m.hash;
    if (commit.type) commit.type = commit.type.toLowerCase();
    return commit;
  });
  // The filter expects git's order, newest first: a revert comes before what it reverts.
  const kept = [...lib.filterRevertedCommitsSync(parsed.reverse())].reverse();
  const recommendation = await new lib.Bumper().commits(kept).bump(preset.whatBump);
  return {
    commits: kept.map(conventionalCommit),
    level: 'releaseType' in recommendation ? recommendation.releaseType : undefined,
  };
}

export function isFeature(c: ConventionalCommit): boolean {
  return c.type === 'feat' || c.type === 'feature';
}

function conventionalCommit(c: Commit): ConventionalCommit {
  return {
    hash: c.hash!,
    ...(c.type ? { type: c.type } : {}),
    ...(c.scope ? { scope: c.scope } : {}),
    subject: (c.subject ?? c.header ?? '').trim(),
    header: c.header ?? '',
    breaking: c.notes.map((n) => n.text.replace(/\s*\n\s*/g, ' ').trim() || (c.subject ?? '')),
  };
}
