import { logger, Tree } from '@nx/devkit';
import { RELEASE_CONFIG_FILE, releaseNotesSource } from '@spacetime/release-kit/src/format/release-config';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { CHANGELOG_FILE } from '@spacetime/release-kit/src/versioning/changelog';
import { parseVersionText } from '@spacetime/release-kit/src/versioning/version-file';
import { planVersionBump, readVersionHistory, VersionHistory } from '@spacetime/release-kit/src/versioning/version-plan';
import type { VersionGeneratorSchema } from './schema';

/**
 * nx g @spacetime/generators:version [--bump=auto|minor|...] --title="..." : the file changes of a
 * version bump (VERSION, release notes source, CHANGELOG.md). A generator cannot commit or tag (Nx
 * writes its files after it returns); `nx run release:version` does the whole flow.
 * `history` and `date` are for tests; Nx passes only the tree and the options.
 */
export default async function versionGenerator(
  tree: Tree,
  options: VersionGeneratorSchema,
  history?: VersionHistory,
  date = new Date().toISOString().slice(0, 10),
) {
  const current = parseVersionText(read(tree, 'VERSION'), 'VERSION');
  const notesPath = releaseNotesSource(read(tree, RELEASE_CONFIG_FILE));
  const plan = await planVersionBump({
    currentVersion: current,
    request: { bump: options.bump, preid: options.preid, version: options.to },
    force: options.force,
    title: options.title,
    date,
    previousNotes: tree.read(notesPath, 'utf-8') ?? undefined,
    previousChangelog: tree.read(CHANGELOG_FILE, 'utf-8') ?? undefined,
    history: history ?? readVersionHistory(tree.root),
  });
  tree.write('VERSION', `${plan.version}\n`);
  tree.write(notesPath, plan.releaseNotes);
  tree.write(CHANGELOG_FILE, plan.changelog);
  logger.info(
    `VERSION ${plan.previousVersion} -> ${plan.version} (${plan.chosenBy}); ${notesPath} and ${CHANGELOG_FILE} from the commits. ` +
      'Review them, then:',
  );
  logger.info(`  git commit -m "${plan.commitMessage}" -- VERSION ${notesPath} ${CHANGELOG_FILE}`);
  logger.info(`  git tag -a ${plan.tag} -m "${plan.tagMessage}"`);
}

function read(tree: Tree, path: string): string {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new ReleaseError('is missing', { file: path });
  return text;
}
