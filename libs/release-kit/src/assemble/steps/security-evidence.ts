import { readFileSync } from 'node:fs';
import type { PackagedSection } from '../../archive/archive-writer';
import { FILE_MODE } from '../../format/determinism';
import { readMadeFile } from '../../format/fragment';
import type { AssembleContext, AssembleStep } from '../context';
import { isSecurityReport, REPORTS_DIR, reportEvidence, SecurityReport } from '../report-evidence';
import { readNpmLock } from '../sbom';
import { SECURITY_CHECKLIST_FILE } from '../../format/layout';
import { answerSecurityChecklist, ChecklistFacts, securityChecklistMarkdown } from '../security-checklist';
import { ReleaseError } from '../../support/errors';
import type { EvidenceFacts, ImageFacts } from '../security-evidence';
import { validationReportsFor } from '../validation-reports';

const SECURITY_SECTION = REPORTS_DIR.split('/')[0];
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * The security section's documents, judged from this build's own data: for each report that asks
 * for it, an evidence file beside it, and the answered security checklist, which a production
 * release must pass (it is judged whether or not the release ships a security section).
 */
export const securityEvidence: AssembleStep = {
  name: 'security evidence',
  run(ctx) {
    const facts = evidenceFacts(ctx);
    const security = ctx.sections.find((s) => s.fragment.section === SECURITY_SECTION);
    const evidence = security ? evidenceFiles(ctx, security, facts) : [];
    // Every file SHA256SUMS lists: the sections', the documents (with this checklist and the evidence), the SBOM and MANIFEST.json.
    const checklist: ChecklistFacts = { ...facts, checksummed: facts.files.size + ctx.documents.length + evidence.length + 3 };
    if (ctx.options.production) {
      const failed = answerSecurityChecklist(checklist).filter((a) => a.status === 'fail');
      if (failed.length)
        throw new ReleaseError(
          'a production release cannot be built: the security checklist fails:\n  - ' +
            failed.map((a) => `${a.item}: ${a.evidence.join('; ')}`).join('\n  - '),
        );
    }
    if (!security) return;
    ctx.documents.push({ path: SECURITY_CHECKLIST_FILE, data: securityChecklistMarkdown(checklist), mode: FILE_MODE });
    ctx.documents.push(...evidence.map((e) => ({ path: e.path, data: e.data, mode: FILE_MODE })));
  },
};

/** An evidence file for each report of the security section that names evidence kinds. */
function evidenceFiles(ctx: AssembleContext, { fragment, outputDir }: PackagedSection, facts: EvidenceFacts) {
  const reports: SecurityReport[] = fragment.files
    .filter((f) => isSecurityReport(f.path))
    .map((file) => ({
      path: file.path,
      text: (file.source ? readFileSync(ctx.at(file.source)) : readMadeFile(outputDir, file)).toString('utf8'),
    }));
  return reportEvidence(reports, facts, [...fragment.directories, ...fragment.files.map((f) => f.path)]);
}

function evidenceFacts(ctx: AssembleContext): EvidenceFacts {
  const { sections } = ctx;
  const godot = sections.map((s) => s.fragment.metadata.godot).find(isRecord);
  return {
    version: ctx.version,
    reports: validationReportsFor(ctx.options, sections),
    signing: { mode: ctx.signer.mode, fingerprint: ctx.signer.fingerprint },
    files: new Set(sections.flatMap((s) => s.fragment.files.map((f) => f.path))),
    image: imageFacts(sections),
    skipped: ctx.skipped,
    now: ctx.now,
    sbom: {
      npmPackages: readNpmLock(ctx.at('package-lock.json'), 'package-lock.json').length,
      engine: typeof godot?.version === 'string' ? godot.version : undefined,
    },
  };
}

/**
 * The image a build target recorded (artifacts.json, carried in its section's fragment), read
 * tolerantly: its ID and tags, the builder that made it (and why the engine), the index digest
 * and each platform's manifest digest (`manifests`, platform to digest, as image-build.ts records
 * them), any other field that holds a SHA-256 digest (or an object with a `digest`), the tarball
 * the section ships and the base image.
 */
function imageFacts(sections: PackagedSection[]): ImageFacts | undefined {
  for (const { fragment } of sections) {
    const image = fragment.metadata.image;
    if (!isRecord(image) || typeof image.id !== 'string') continue;
    const index = typeof image.index === 'string' && DIGEST.test(image.index) ? image.index : undefined;
    const manifests = isRecord(image.manifests)
      ? Object.entries(image.manifests).filter((e): e is [string, string] => typeof e[1] === 'string' && DIGEST.test(e[1]))
      : [];
    const digests = Object.entries(image)
      .filter(([field]) => !['id', 'base', 'index', 'manifests'].includes(field))
      .flatMap(([field, value]) => {
        const digest = isRecord(value) ? value.digest : value;
        return typeof digest === 'string' && DIGEST.test(digest) ? [[field, digest] as const] : [];
      });
    const tarball =
      typeof image.tarball === 'string' ? fragment.files.find((f) => f.path.endsWith(`/${image.tarball as string}`)) : undefined;
    const base = image.base;
    return {
      id: image.id,
      tags: Array.isArray(image.tags) ? image.tags.filter((t): t is string => typeof t === 'string') : [],
      ...(typeof image.builder === 'string'
        ? { builder: { name: image.builder, ...(typeof image.builderReason === 'string' ? { reason: image.builderReason } : {}) } }
        : {}),
      ...(index ? { index } : {}),
      ...(manifests.length ? { manifests: Object.fromEntries(manifests.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) } : {}),
      ...(Array.isArray(image.platforms) ? { platforms: image.platforms.filter((p): p is string => typeof p === 'string') } : {}),
      digests: Object.fromEntries(digests),
      tarball: tarball && { path: tarball.path, sha256: tarball.sha256 },
      base:
        isRecord(base) && typeof base.name === 'string'
          ? { name: base.name, id: typeof base.id === 'string' ? base.id : undefined }
          : undefined,
    };
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
