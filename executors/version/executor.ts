import type { ExecutorContext } from '@nx/devkit';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { releaseNotesSource } from '@spacetime/release-kit/src/format/release-config';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { parseVersionText } from '@spacetime/release-kit/src/versioning/version-file';
import { applyVersionBump, planVersionBump, readVersionHistory } from '@spacetime/release-kit/src/versioning/version-plan';
import { runExecutor } from '../run-executor';
import type { VersionExecutorSchema } from './schema';

/** nx run release:version --bump=minor --title="..." : bump, write, commit, tag. */
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
    const plan = planVersionBump({
      currentVersion: parseVersionText(read('VERSION')),
      request: { bump: options.bump, preid: options.preid, version: options.to },
      title: options.title ?? '',
      previousNotes: read(notesPath),
      history: readVersionHistory(context.root),
    });
    console.log(`VERSION ${plan.previousVersion} -> ${plan.version}`);
    const counts = Object.entries(plan.changes)
      .map(([group, entries]) => `${entries.length} ${group}`)
      .join(', ');
    console.log(`${notesPath}: ${counts}`);
    if (options.dryRun) {
      console.log(`dry run: would commit "${plan.commitMessage}" and tag ${plan.tag} "${plan.tagMessage}"\n\n${plan.releaseNotes}`);
      return;
    }
    const { commit } = applyVersionBump(context.root, plan, { VERSION: `${plan.version}\n`, [notesPath]: plan.releaseNotes });
    console.log(`committed ${commit.slice(0, 12)} "${plan.commitMessage}" and tagged ${plan.tag} "${plan.tagMessage}"`);
    console.log(`publish the tag with: git push origin ${plan.tag}`);
  });
}
