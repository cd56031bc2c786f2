import { getProjects, joinPathFragments, logger, Tree } from '@nx/devkit';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { appendToJsonArray, readJsonArray } from '../lib/json-edit';
import { assertDnsLabel } from '../lib/scaffold-names';
import { SECTION_PATHS, sectionProjectJson, sectionReadme } from '../lib/section-scaffold';
import type { SectionGeneratorSchema } from './schema';

/** nx g @spacetime/generators:section <name> */
export default async function sectionGenerator(tree: Tree, options: SectionGeneratorSchema) {
  const name = assertDnsLabel(options.name, 'the section name');
  const { sectionsDir, releaseConfig, releaseProject } = SECTION_PATHS;
  const root = joinPathFragments(sectionsDir, name);
  const configText = read(tree, releaseConfig);
  const projectText = read(tree, releaseProject);
  if (readJsonArray(configText, 'sections', releaseConfig).includes(name))
    throw new ReleaseError(`the section "${name}" already exists in ${releaseConfig} sections`);
  if (tree.exists(root)) throw new ReleaseError(`${root}/ already exists`, { hint: 'pick another name' });
  const clash = getProjects(tree).get(name);
  if (clash) throw new ReleaseError(`a project named "${name}" already exists (${clash.root}); Nx project names are unique`);
  readJsonArray(projectText, 'implicitDependencies', releaseProject);

  const newConfig = appendToJsonArray(configText, 'sections', name, releaseConfig);
  const newProject = appendToJsonArray(projectText, 'implicitDependencies', name, releaseProject);

  tree.write(joinPathFragments(root, 'project.json'), sectionProjectJson(name));
  tree.write(joinPathFragments(root, 'src/README.md'), sectionReadme(name));
  tree.write(releaseConfig, newConfig);
  tree.write(releaseProject, newProject);

  logger.info(`Section "${name}": put its files under ${root}/src/; the next \`npx nx run release:assemble\` ships them as ${name}/.`);
}

function read(tree: Tree, path: string): string {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new ReleaseError('is missing', { file: path });
  return text;
}
