import type { ExecutorContext } from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { releaseNotesSource } from '@spacetime/release-kit/src/format/release-config';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { CHANGE_GROUPS } from '@spacetime/release-kit/src/versioning/release-notes';
import { parseVersionText } from '@spacetime/release-kit/src/versioning/version-file';
import { applyVersionBump, planVersionBump, readVersionHistory } from '@spacetime/release-kit/src/versioning/version-plan';
import { runExecutor } from '../run-executor';
import type { VersionExecutorSchema } from './schema';

/** nx run release:version [--bump=auto|minor|...] --title="..." : bump, write, commit, tag. */
export default async function version(options: VersionExecutorSchema, context: ExecutorContext) {
  return runExecutor(async () => {
    const read = (path: string) => {
      try {
        return readFileSync(join(context.root, path), 'utf8');
      } catch {
        throw new ReleaseError('is missing', { file: path });
      }
    };
    const configFile = options.config;
    const notesPath = releaseNotesSource(read(configFile), configFile);
    const changelogPath = options.changelog;
    const plan = await planVersionBump({
      currentVersion: parseVersionText(read('VERSION')),
      request: { bump: options.bump, preid: options.preid, version: options.to },
      force: options.force,
      allowDirty: options.dryRun,
      title: options.title ?? '',
      date: new Date().toISOString().slice(0, 10),
      previousNotes: read(notesPath),
      previousChangelog: existsSync(join(context.root, changelogPath)) ? read(changelogPath) : undefined,
      changelogFile: changelogPath,
      history: readVersionHistory(context.root),
    });
    console.log(`VERSION ${plan.previousVersion} -> ${plan.version} (${plan.chosenBy}; ${plan.kind.level} release)`);
    console.log(`${notesPath} and ${changelogPath}: ${CHANGE_GROUPS.map((g) => `${plan.changes[g.id].length} ${g.id}`).join(', ')}`);
    if (options.dryRun) {
      if (plan.dirty.length)
        console.log(`the git working tree is not clean, which a real run refuses: ${plan.dirty.slice(0, 10).join(', ')}`);
      console.log(`dry run: would commit "${plan.commitMessage}" and tag ${plan.tag} "${plan.tagMessage}"`);
      console.log(`\n${notesPath}:\n\n${plan.releaseNotes}\n${changelogPath}, new entry:\n\n${plan.changelogEntry}`);
      return;
    }
    const { commit } = applyVersionBump(context.root, plan, {
      VERSION: `${plan.version}\n`,
      [notesPath]: plan.releaseNotes,
      [changelogPath]: plan.changelog,
    });
    console.log(`committed ${commit.slice(0, 12)} "${plan.commitMessage}" and tagged ${plan.tag} "${plan.tagMessage}"`);
    console.log(`publish the tag with: git push origin ${plan.tag}`);
  });
}
