import { logger, Tree } from '@nx/devkit';
import { RELEASE_CONFIG_FILE, releaseNotesSource } from '@spacetime/release-kit/src/format/release-config';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { parseVersionText } from '@spacetime/release-kit/src/versioning/version-file';
import { planVersionBump, readVersionHistory, VersionHistory } from '@spacetime/release-kit/src/versioning/version-plan';
import type { VersionGeneratorSchema } from './schema';

/**
 * nx g @spacetime/generators:version --bump=minor --title="..." : the file changes of a version
 * bump (VERSION, release notes source). A generator cannot commit or tag (Nx writes its files
 * after it returns); `nx run release:version` does the whole flow.
 * `history` is for tests; Nx passes only the tree and the options.
 */
export default async function versionGenerator(tree: Tree, options: VersionGeneratorSchema, history?: VersionHistory) {
  const current = parseVersionText(read(tree, 'VERSION'), 'VERSION');
  const notesPath = releaseNotesSource(read(tree, RELEASE_CONFIG_FILE));
  const plan = planVersionBump({
    currentVersion: current,
    request: { bump: options.bump, preid: options.preid, version: options.to },
    title: options.title,
    previousNotes: tree.read(notesPath, 'utf-8') ?? undefined,
    history: history ?? readVersionHistory(tree.root),
  });
  tree.write('VERSION', `${plan.version}\n`);
  tree.write(notesPath, plan.releaseNotes);
  logger.info(`VERSION ${plan.previousVersion} -> ${plan.version}; ${notesPath} regenerated from the commits. Review them, then:`);
  logger.info(`  git commit -m "${plan.commitMessage}" -- VERSION ${notesPath}`);
  logger.info(`  git tag -a ${plan.tag} -m "${plan.tagMessage}"`);
}

function read(tree: Tree, path: string): string {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new ReleaseError('is missing', { file: path });
  return text;
}
