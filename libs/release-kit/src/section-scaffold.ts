import { assertDnsLabel, displayName } from './scaffold-names';

export const SECTION_PATHS = {
  sectionsDir: 'libs/sections',
  releaseConfig: 'libs/release/release.config.json',
  releaseProject: 'libs/release/project.json',
} as const;

export interface NewSection {
  name: string;
  /** Give the project a `validate` target (its executor comes from nx.json targetDefaults). */
  validate: boolean;
}

/** libs/sections/<name>/project.json of a new section: ships src/ as the package folder <name>/. */
export function sectionProjectJson(section: NewSection): string {
  const name = assertDnsLabel(section.name, 'the section name');
  const targets = [`    "package": {\n      "options": { "sources": [{ "from": "src", "to": "." }] }\n    }`];
  if (section.validate) targets.push(`    "validate": {}`);
  return `{
  "name": "${name}",
  "$schema": "../../../node_modules/nx/schemas/project-schema.json",
  "projectType": "library",
  "tags": ["section"],
  "targets": {
${targets.join(',\n')}
  }
}
`;
}

/** The starter README.md of a new section, so that its package folder is never empty. */
export function sectionReadme(name: string): string {
  return `# ${displayName(name)}

This folder of the SpaceTime VR release package is built from \`libs/sections/${name}/src/\`.
Everything under \`src/\` ships here as it is; replace this file with the section's own
introduction.
`;
}
