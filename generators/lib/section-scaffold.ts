import { RELEASE_CONFIG_FILE } from '@spacetime/release-kit/src/format/release-config';
import { assertDnsLabel, displayName } from './scaffold-names';

export const SECTION_PATHS = {
  sectionsDir: 'libs/sections',
  releaseConfig: RELEASE_CONFIG_FILE,
  releaseProject: 'libs/release/project.json',
} as const;

/**
 * libs/sections/<name>/project.json of a new section: ships src/ as the package folder <name>/,
 * validated like every section (executors and inputs come from nx.json targetDefaults; the
 * implicit dependency on the executors project is the graph edge Nx does not infer from them).
 */
export function sectionProjectJson(sectionName: string): string {
  const name = assertDnsLabel(sectionName, 'the section name');
  return `{
  "name": "${name}",
  "$schema": "../../../node_modules/nx/schemas/project-schema.json",
  "projectType": "library",
  "implicitDependencies": ["executors"],
  "tags": ["section"],
  "targets": {
    "package": {
      "options": { "sources": [{ "from": "src", "to": "." }] }
    },
    "validate": {},
    "validate-release": {}
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
