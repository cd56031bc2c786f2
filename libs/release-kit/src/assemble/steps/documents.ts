import { join } from 'node:path';
import { FILE_MODE } from '../../format/determinism';
import { ROOT_FILES } from '../../format/layout';
import type { AssembleStep } from '../context';
import { deploymentChecklist, releaseNotes } from '../root-documents';

/**
 * The documents made from templates and facts: the deployment checklist and the release notes
 * (the security section's documents are the security evidence step's).
 */
export const rootDocuments: AssembleStep = {
  name: 'documents',
  run(ctx) {
    const { config, version } = ctx;
    const template = (p: string) => ctx.at(join(ctx.options.config, '..', p));
    ctx.documents = [
      { path: ROOT_FILES.checklist, data: deploymentChecklist(template(config.templates.checklist), version), mode: FILE_MODE },
      { path: ROOT_FILES.releaseNotes, data: releaseNotes(template(config.templates.releaseNotes), version, ctx.git), mode: FILE_MODE },
    ];
  },
};
