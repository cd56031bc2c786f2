import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { cachedValidator } from '../support/cached-validator';
import { ReleaseError } from '../support/errors';
import { parseJsonText } from '../support/yaml-file';

/** Where the release config is, relative to the workspace (executors take another with `--config`). */
export const RELEASE_CONFIG_FILE = 'libs/release/release.config.json';

/** The release config: what the package holds, in which order. */
export interface ReleaseConfig {
  /** Section projects, each shipping the package folder of the same name. */
  sections: string[];
  /** Environments the package is configured for (config/<env>/, kubernetes/overlays/<env>/). */
  environments: string[];
  templates: { releaseNotes: string; checklist: string };
}

const NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const RELEASE_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['sections', 'environments', 'templates'],
  properties: {
    $schema: { type: 'string' },
    sections: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: NAME } },
    environments: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: NAME } },
    templates: {
      type: 'object',
      additionalProperties: false,
      required: ['releaseNotes', 'checklist'],
      properties: { releaseNotes: { type: 'string' }, checklist: { type: 'string' } },
    },
  },
};

const validate = cachedValidator<ReleaseConfig>(RELEASE_CONFIG_SCHEMA, { allErrors: true });

export function loadReleaseConfig(file: string, shownAs = file): ReleaseConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ReleaseError('the release config is missing', { file: shownAs });
  }
  const config = parseJsonText(text, shownAs);
  if (!validate(config)) {
    const problems = validate.errors!.map((e) => `${e.instancePath || '(top level)'} ${e.message}`).join('; ');
    throw new ReleaseError(`invalid release config: ${problems}`, { file: shownAs });
  }
  return config;
}

/** Workspace-relative path of the release notes source named by the release config text. */
export function releaseNotesSource(configText: string, configFile = RELEASE_CONFIG_FILE): string {
  const releaseDir = posix.dirname(configFile);
  const config = parseJsonText(configText, configFile) as { templates?: { releaseNotes?: unknown } };
  const notes = config?.templates?.releaseNotes;
  if (typeof notes !== 'string' || !notes) throw new ReleaseError('templates.releaseNotes is missing', { file: configFile });
  return posix.normalize(posix.join(releaseDir, notes));
}
