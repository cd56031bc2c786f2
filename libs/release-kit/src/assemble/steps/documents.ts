import { join } from 'node:path';
import type { PackagedSection } from '../../archive/archive-writer';
import { FILE_MODE } from '../../format/determinism';
import { ROOT_FILES } from '../../format/layout';
import { ReleaseError } from '../../support/errors';
import type { AssembleStep } from '../context';
import { deploymentChecklist, releaseNotes } from '../root-documents';
import { answerSecurityChecklist, ChecklistFacts, SECURITY_CHECKLIST_FILE, securityChecklistMarkdown } from '../security-checklist';
import { validationReportFor } from '../validation-reports';

/**
 * The documents made from templates and facts: the deployment checklist, the release notes and the
 * answered security checklist (which a production release must pass).
 */
export const rootDocuments: AssembleStep = {
  name: 'documents',
  run(ctx) {
    const { config, version, sections } = ctx;
    const template = (p: string) => ctx.at(join(ctx.options.config, '..', p));
    ctx.documents = [
      { path: ROOT_FILES.checklist, data: deploymentChecklist(template(config.templates.checklist), version), mode: FILE_MODE },
      { path: ROOT_FILES.releaseNotes, data: releaseNotes(template(config.templates.releaseNotes), version, ctx.git), mode: FILE_MODE },
    ];
    const facts: ChecklistFacts = {
      version,
      reports: Object.fromEntries(sections.map(({ fragment }) => [fragment.section, validationReportFor(ctx.options, fragment)])),
      signing: { mode: ctx.signer.mode, fingerprint: ctx.signer.fingerprint },
      files: new Set(sections.flatMap((s) => s.fragment.files.map((f) => f.path))),
      // every file but SHA256SUMS and its signature: the sections', the documents, this checklist, the SBOM and MANIFEST.json
      checksummed: sections.reduce((n, s) => n + s.fragment.files.length, 0) + ctx.documents.length + 3,
      image: imageOf(sections),
      skipped: ctx.skipped,
      now: ctx.now,
    };
    if (ctx.options.production) {
      const failed = answerSecurityChecklist(facts).filter((a) => a.status === 'fail');
      if (failed.length)
        throw new ReleaseError(
          'a production release cannot be built: the security checklist fails:\n  - ' +
            failed.map((a) => `${a.item}: ${a.evidence.join('; ')}`).join('\n  - '),
        );
    }
    // The answered checklist ships inside the security section, when the release has one.
    if (config.sections.includes(SECURITY_CHECKLIST_FILE.split('/')[0]))
      ctx.documents.push({ path: SECURITY_CHECKLIST_FILE, data: securityChecklistMarkdown(facts), mode: FILE_MODE });
  },
};

function imageOf(sections: PackagedSection[]): ChecklistFacts['image'] {
  for (const { fragment } of sections) {
    const image = fragment.metadata.image as { id?: unknown; tags?: unknown } | null | undefined;
    if (image && typeof image.id === 'string') return { id: image.id, tags: Array.isArray(image.tags) ? image.tags.map(String) : [] };
  }
  return undefined;
}
