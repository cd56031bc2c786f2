import { readFileSync } from 'node:fs';
import { ReleaseError } from '../support/errors';
import { GitInfo } from '../support/git-info';
import { renderVersion } from '../format/version-token';

/** RELEASE_NOTES.md: the maintained notes, then the commits since the previous version tag. */
export function releaseNotes(sourceFile: string, version: string, git: GitInfo | undefined): Buffer {
  const notes = renderVersion(readTemplate(sourceFile), version).toString('utf8').trimEnd();
  const since = git?.previousTag ? `since ${git.previousTag}` : 'in this release';
  const commits = git ? git.commitsSincePreviousTag.map((c) => `- ${c}`) : ['- (built outside a git checkout: no commit list)'];
  return Buffer.from(`${notes}\n\n## Commits ${since}\n\n${commits.join('\n')}\n`, 'utf8');
}

/** DEPLOYMENT_CHECKLIST.md: the maintained checklist with the release version filled in. */
export function deploymentChecklist(sourceFile: string, version: string): Buffer {
  return renderVersion(readTemplate(sourceFile), version);
}

function readTemplate(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    throw new ReleaseError('the release template is missing', { file });
  }
}
