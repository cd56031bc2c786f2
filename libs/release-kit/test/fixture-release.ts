import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { assembleRelease, AssembleResult } from '../src/assemble/assemble';
import { entryEpoch } from '../src/format/determinism';
import { packSection } from '../src/section/packer';
import { resolveSectionSources } from '../src/section/sources';
import { compressible, incompressible, tempDir, writeTree } from './helpers';

export const FIXTURE_SECTIONS = ['alpha', 'beta'];

/**
 * A small workspace with two sections, built the way the executors build one: sources resolved,
 * each section packed into dist/sections, then assembled. Large files exercise the streamed path
 * (deflated and stored); small ones the shared tar members.
 */
export function fixtureWorkspace(root = tempDir('workspace')): string {
  writeTree(root, {
    VERSION: '1.2.3\n',
    'libs/release/release.config.json': JSON.stringify({
      sections: FIXTURE_SECTIONS,
      environments: ['production'],
      templates: { releaseNotes: 'templates/notes.md', checklist: 'templates/checklist.md' },
    }),
    'libs/release/templates/notes.md': '# Release {{version}}\n',
    'libs/release/templates/checklist.md': '- [ ] deploy {{version}}\n',
    'libs/sections/alpha/src/readme.md': 'alpha {{version}}\n',
    'libs/sections/alpha/src/deep/run.sh': '#!/bin/sh\necho run\n',
    'libs/sections/alpha/src/deep/empty.txt': '',
    'libs/sections/beta/src/server.bin': compressible(3 << 20),
    'libs/sections/beta/src/image.tar.gz': incompressible(2 << 20),
    'libs/sections/beta/src/notes/a.txt': 'a\n',
  });
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, '-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'fixture');
  return root;
}

export async function packFixtureSections(root: string): Promise<void> {
  await packSections(root, '1.2.3', FIXTURE_SECTIONS, ['alpha']);
}

/** Packs each section's `src/` folder into dist/sections, as the package executor does. */
async function packSections(root: string, version: string, sections: string[], rendered: string[] = []): Promise<void> {
  for (const section of sections) {
    await packSection({
      workspaceRoot: root,
      section,
      version,
      sources: resolveSectionSources({
        workspaceRoot: root,
        projectRoot: `libs/sections/${section}`,
        version,
        sources: [{ from: 'src', to: '.', render: rendered.includes(section) }],
      }),
      skipped: [],
      outputDir: join(root, 'dist/sections', section),
      mtime: entryEpoch(),
    });
  }
}

/**
 * A release holding exactly `files` (package-relative paths; the first folder of each is its
 * section) besides the root files, built in a workspace of its own as the executors build one.
 */
export async function buildReleaseOf(version: string, files: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<AssembleResult> {
  const root = tempDir('workspace');
  const sections = [...new Set(Object.keys(files).map((p) => p.split('/')[0]))].sort();
  writeTree(root, {
    VERSION: `${version}\n`,
    'libs/release/release.config.json': JSON.stringify({
      sections,
      environments: ['production'],
      templates: { releaseNotes: 'templates/notes.md', checklist: 'templates/checklist.md' },
    }),
    'libs/release/templates/notes.md': '# Release {{version}}\n',
    'libs/release/templates/checklist.md': '- [ ] deploy {{version}}\n',
    ...Object.fromEntries(Object.entries(files).map(([path, text]) => [path.replace(/^([^/]+)\//, 'libs/sections/$1/src/'), text])),
  });
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, '-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'fixture');
  await packSections(root, version, sections);
  return assembleFixture(root, env);
}

export async function buildFixtureRelease(
  root: string,
  env: NodeJS.ProcessEnv = {},
  log?: (line: string) => void,
): Promise<AssembleResult> {
  await packFixtureSections(root);
  return assembleFixture(root, env, log);
}

/** Assembles the sections packed in `root` as the development configuration does, with a key of its own beside the workspace. */
export function assembleFixture(root: string, env: NodeJS.ProcessEnv = {}, log?: (line: string) => void): Promise<AssembleResult> {
  return assembleRelease({
    workspaceRoot: root,
    config: 'libs/release/release.config.json',
    sectionsDir: 'dist/sections',
    outputDir: 'dist/release',
    validationDir: 'dist/validation',
    production: false,
    env: { XDG_CONFIG_HOME: join(root, '..', `${root.split('/').pop()}-keys`), ...env },
    log,
  });
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}
