import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ArchiveLayout, deflateRootFiles, PackagedSection, RootFile, writeTarGz, writeZip } from '../archive/archive-writer';
import { formatSha256Sums } from '../format/checksums';
import { entryEpoch, FILE_MODE } from '../format/determinism';
import { fileSystemError, ReleaseError } from '../support/errors';
import { FRAGMENT_FILE, readFragment, SectionFragment, Skip } from '../format/fragment';
import { GitInfo, readGitInfo } from '../support/git-info';
import { archiveNames, packageFolderName, PUBLIC_KEY_FILE, ROOT_FILES } from '../format/layout';
import { buildManifest, Manifest, octalMode } from '../format/manifest';
import { moveIntoPlace, partialPathFor, removeStalePartials, spareFor, stagingDirFor, swapIntoPlace, takeSpare } from '../support/move-into-place';
import { withOutputLock } from '../support/output-lock';
import { PlacedFolder, startFolderScan, writePackageFolder } from './package-folder';
import { isUpToDate, readState, sameStamp, stamp, STATE_FILE, writeState } from './state';
import { loadReleaseConfig } from '../format/release-config';
import { deploymentChecklist, releaseNotes } from './root-documents';
import { engineDigest } from './engine-digest';
import { resolveSigner, Signer } from './signing';
import { buildSbom, readNpmLock, SBOM_FILE } from './sbom';
import { answerSecurityChecklist, ChecklistFacts, SECURITY_CHECKLIST_FILE, securityChecklistMarkdown } from './security-checklist';
import { stableJson, stableJsonBytes } from '../support/stable-json';
import { toolVersions } from '../support/tool-versions';
import { failedValidation, findValidationReport, formatFinding, formatSummary, validateSection } from '../validation/validate-section';
import { bundleVerifier, VERIFIER_FILE } from '../verifier/bundle';
import { readVersion } from '../versioning/version-file';

/** Outputs whose previous version is kept beside them and updated in place by the next assembly. */
const SPARED = ['packageDir', 'tarGz', 'zip'] as const;

export interface AssembleOptions {
  workspaceRoot: string;
  /** Workspace-relative path of the release config. */
  config: string;
  /** Workspace-relative folder holding each section's package output. */
  sectionsDir: string;
  /** Workspace-relative folder the release is written to. */
  outputDir: string;
  /** Workspace-relative folder of the validation reports (`<section>/` and `release-gate/<section>/`). */
  validationDir: string;
  production: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** When certificate expiry is judged (tests); otherwise the time of the run. */
  now?: Date;
}

export interface AssembleResult {
  version: string;
  packageDir: string;
  tarGz: string;
  zip: string;
  publicKey: string;
  manifest: Manifest;
  verifier: string;
  /** True when the outputs were already those of this assembly and nothing was written. */
  upToDate: boolean;
}

/**
 * Joins the sections' cached package outputs into the release: the package folder, its
 * MANIFEST.json, SHA256SUMS and signature, the .tar.gz and .zip, and the public key. Everything
 * is written under temporary names and moved into place only when whole.
 */
export async function assembleRelease(options: AssembleOptions): Promise<AssembleResult> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const at = (p: string) => join(options.workspaceRoot, p);
  const version = readVersion(at('VERSION'));
  const config = loadReleaseConfig(at(options.config), options.config);
  // git runs while the fragments are read. Awaited below; marked handled so that a fragment that
  // fails to read first does not leave a rejected promise behind it.
  const gitInfo = readGitInfo(options.workspaceRoot, version);
  gitInfo.catch(() => undefined);
  const configDir = join(options.config, '..');
  const sections: PackagedSection[] = config.sections.map((section) => {
    const outputDir = at(join(options.sectionsDir, section));
    return { fragment: readFragment(outputDir, section, version), outputDir, digest: sha256(readFileSync(join(outputDir, FRAGMENT_FILE))) };
  });

  const git = await gitInfo;
  const signer = await resolveSigner(env);
  const skipped: Skip[] = sections.flatMap((s) => s.fragment.skipped);
  if (!git) skipped.push({ artifact: 'git metadata', reason: 'the workspace is not a git checkout with a commit' });
  if (options.production) {
    const failedValidation = validateForProduction(options, sections, version, log);
    assertProductionReady(git?.dirty ?? true, signer.mode === 'development', skipped, failedValidation);
  }
  for (const skip of skipped) log(`SKIPPED ${skip.artifact}: ${skip.reason}`);
  if (signer.mode === 'development') log('SIGNED WITH THE DEVELOPMENT KEY: this package is not fit for production (set RELEASE_SIGNING_KEY or GPG_KEY_ID)');

  const signing = { mode: signer.mode, fingerprint: signer.fingerprint };
  const mtime = entryEpoch(env.SOURCE_DATE_EPOCH);
  const buildDate = env.SOURCE_DATE_EPOCH ? mtime : git?.commitTime ?? mtime;
  const templates = (p: string) => at(join(configDir, p));
  const documents: RootFile[] = [
    { path: ROOT_FILES.checklist, data: deploymentChecklist(templates(config.templates.checklist), version), mode: FILE_MODE },
    { path: ROOT_FILES.releaseNotes, data: releaseNotes(templates(config.templates.releaseNotes), version, git), mode: FILE_MODE },
  ];
  const checklistFacts: ChecklistFacts = {
    version,
    reports: Object.fromEntries(sections.map(({ fragment }) => [fragment.section, validationReportFor(options, fragment)])),
    signing,
    files: new Set(sections.flatMap((s) => s.fragment.files.map((f) => f.path))),
    // every file but SHA256SUMS and its signature: the sections', the documents, this checklist, the SBOM and MANIFEST.json
    checksummed: sections.reduce((n, s) => n + s.fragment.files.length, 0) + documents.length + 3,
    image: imageOf(sections),
    skipped,
    now: options.now ?? new Date(),
  };
  if (options.production) assertChecklistPasses(checklistFacts);
  // The answered checklist ships inside the security section, when the release has one.
  if (config.sections.includes(SECURITY_CHECKLIST_FILE.split('/')[0])) documents.push({ path: SECURITY_CHECKLIST_FILE, data: securityChecklistMarkdown(checklistFacts), mode: FILE_MODE });
  const outputDir = at(options.outputDir);
  const top = packageFolderName(version);
  const names = archiveNames(version);
  const final = { packageDir: join(outputDir, top), tarGz: join(outputDir, names.tarGz), zip: join(outputDir, names.zip), publicKey: join(outputDir, PUBLIC_KEY_FILE), verifier: join(outputDir, VERIFIER_FILE) };
  const verifier = bundleVerifier();
  const npmLock = at('package-lock.json');
  const buildUser = env.BUILD_USER || (env.CI ? 'ci-system' : 'local-build');
  // Everything SBOM.cdx.json, MANIFEST.json, SHA256SUMS and its signature are made from: when it
  // matches the last assembly's and its outputs are untouched, none of them is made again.
  const key = assemblyKey(sections, documents, npmLock, { top, mtime, buildDate, version, git, buildUser, production: options.production, signing, publicKey: signer.publicKey, skipped, verifier: sha256(verifier) });
  const show = (p: string) => relative(options.workspaceRoot, p) || '.';
  try {
    mkdirSync(outputDir, { recursive: true });
    return await withOutputLock(outputDir, options.outputDir, log, async () => {
      const stagingDir = stagingDirFor(options.workspaceRoot, outputDir);
      removeStalePartials(outputDir);
      if (stagingDir !== outputDir) removeStalePartials(stagingDir, outputDir);
      const previous = readState(outputDir);
      if (isUpToDate(previous, key, outputDir, final.packageDir)) {
        log(`${top} is up to date (same sections, documents and key as the last assembly)`);
        return { version, ...final, manifest: JSON.parse(readFileSync(join(final.packageDir, ROOT_FILES.manifest), 'utf8')), upToDate: true };
      }
      // The spare folder is scanned on another thread (a stat per file) while this one makes the root files.
      const scan = startFolderScan(spareFor(final.packageDir), sections, rootFilePaths(documents));
      const { rootFiles, listed, manifest } = await rootFilesFor({ version, buildDate, git, buildUser, production: options.production, signer, sections, documents, skipped, npmLock }).catch(async (error) => {
        await scan.abort();
        throw error;
      });
      const scanned = await scan.scanned;
      const partial = {
        packageDir: partialPathFor(final.packageDir, undefined, stagingDir),
        tarGz: partialPathFor(final.tarGz),
        zip: partialPathFor(final.zip),
        publicKey: partialPathFor(final.publicKey),
        verifier: partialPathFor(final.verifier),
      };
      let folder: PlacedFolder | undefined;
      let layouts: Record<string, ArchiveLayout> = {};
      // A first build leaves nothing to keep as a spare, so it makes the spares: the archives are
      // written twice in the same pass and the folder is linked again. The next build then costs
      // what changed, as every later one does, instead of writing both archives in full.
      const unspared = new Set<(typeof SPARED)[number]>();
      const mirrors: Partial<Record<(typeof SPARED)[number], string>> = {};
      // Deflated on the thread pool while this thread lays out the folder; marked handled until awaited.
      const deflating = deflateRootFiles(rootFiles);
      deflating.catch(() => undefined);
      try {
        rmSync(join(outputDir, STATE_FILE), { force: true });
        // The folder and archives before the current ones, if kept, are updated in place (a crash leaves partials that the next run removes).
        for (const name of SPARED) {
          takeSpare(final[name], partial[name]);
          if (!existsSync(final[name]) && !existsSync(partial[name])) unspared.add(name);
        }
        for (const name of ['tarGz', 'zip'] as const) if (unspared.has(name)) mirrors[name] = partialPathFor(spareFor(final[name]));
        if (unspared.has('packageDir')) mirrors.packageDir = partialPathFor(spareFor(final.packageDir), undefined, stagingDir);
        folder = writePackageFolder(partial.packageDir, { workspaceRoot: options.workspaceRoot, sections, rootFiles, previous: { packageDir: final.packageDir, state: previous }, linkedCopy: mirrors.packageDir, scanned });
        const archive = { top, packageDir: partial.packageDir, mtime, rootFiles: await deflating, sections };
        // A spare archive untouched since it was written keeps its unchanged sections where they are.
        const spareLayout = (name: 'tarGz' | 'zip') => {
          const spare = previous?.spares?.[names[name]];
          return spare && sameStamp(stamp(partial[name]), spare) ? spare.layout : undefined;
        };
        for (const [name, written] of [
          [names.tarGz, writeTarGz(archive, partial.tarGz, spareLayout('tarGz'), mirrors.tarGz)],
          [names.zip, writeZip(archive, partial.zip, spareLayout('zip'), mirrors.zip)],
        ] as const) {
          layouts[name] = written.layout;
          if (written.kept) log(`${name}: ${mebibytes(written.kept)} of ${mebibytes(written.size)} left in place (unchanged sections of the last-but-one archive)`);
        }
        writeFileSync(partial.publicKey, signer.publicKey, { mode: FILE_MODE });
        writeFileSync(partial.verifier, verifier, { mode: FILE_MODE });
        await folder.copied;
      } catch (error) {
        await folder?.abort();
        for (const p of [...Object.values(partial), ...Object.values(mirrors)]) rmSync(p, { recursive: true, force: true });
        throw error;
      }
      // Archives, key and verifier first, the folder last: a reader who sees the new folder finds its archives.
      for (const name of ['tarGz', 'zip'] as const) {
        swapIntoPlace(partial[name], final[name]);
        if (mirrors[name]) renameSync(mirrors[name], spareFor(final[name]));
      }
      for (const name of ['publicKey', 'verifier'] as const) moveIntoPlace(partial[name], final[name]);
      swapIntoPlace(partial.packageDir, final.packageDir, stagingDir);
      if (mirrors.packageDir) renameSync(mirrors.packageDir, spareFor(final.packageDir));
      writeState(outputDir, {
        key,
        files: Object.fromEntries([...listed, ...rootFiles.map((r) => ({ path: r.path, sha256: sha256(r.data) }))].map((f) => [f.path, { sha256: f.sha256, ...(folder.linked.get(f.path) ?? stamp(join(final.packageDir, f.path))!) }])),
        outputs: Object.fromEntries([names.tarGz, names.zip, PUBLIC_KEY_FILE, VERIFIER_FILE].map((name) => [name, stamp(join(outputDir, name))!])),
        layouts,
        // The archives just replaced, now the spares, as the last assembly recorded them; or the copies just made.
        spares: Object.fromEntries(
          (['tarGz', 'zip'] as const).flatMap((name) => {
            if (mirrors[name]) return [[names[name], { ...stamp(spareFor(final[name]))!, layout: layouts[names[name]] }]];
            const written = previous?.outputs[names[name]];
            const layout = previous?.layouts?.[names[name]];
            return written && layout && existsSync(spareFor(final[name])) ? [[names[name], { ...written, layout }]] : [];
          }),
        ),
      });
      return { version, ...final, manifest, upToDate: false };
    });
  } catch (error) {
    throw fileSystemError(error, show, outputDir);
  }
}

interface RootFilesInput {
  version: string;
  buildDate: number;
  git: GitInfo | undefined;
  buildUser: string;
  production: boolean;
  signer: Signer;
  sections: PackagedSection[];
  /** The root documents made so far (checklists, release notes). */
  documents: RootFile[];
  skipped: Skip[];
  npmLock: string;
}

/** The paths of the root files that rootFilesFor makes with `documents`, in its order. */
function rootFilePaths(documents: RootFile[]): string[] {
  return [...documents.map((d) => d.path), SBOM_FILE, ROOT_FILES.manifest, ROOT_FILES.checksums, ROOT_FILES.signature];
}

/** The documents with SBOM.cdx.json, MANIFEST.json, SHA256SUMS and its signature, and every file SHA256SUMS lists. */
async function rootFilesFor(input: RootFilesInput): Promise<{ rootFiles: RootFile[]; listed: Array<{ path: string; size: number; sha256: string; mode: number }>; manifest: Manifest }> {
  const { version, buildDate, sections, skipped } = input;
  const sbom: RootFile = {
    path: SBOM_FILE,
    data: buildSbom({
      version,
      buildDate,
      files: [...sections.flatMap((s) => s.fragment.files), ...input.documents.map((d) => ({ path: d.path, sha256: sha256(d.data) }))],
      fragments: sections.map((s) => s.fragment),
      skipped,
      npm: readNpmLock(input.npmLock, 'package-lock.json'),
      tools: toolVersions(),
    }),
    mode: FILE_MODE,
  };
  const documents = [...input.documents, sbom];
  const listed = [
    ...sections.flatMap((s) => s.fragment.files),
    ...documents.map((d) => ({ path: d.path, size: d.data.length, sha256: sha256(d.data), mode: d.mode })),
  ];
  const signing = { mode: input.signer.mode, fingerprint: input.signer.fingerprint };
  const manifest = buildManifest({
    version,
    buildDate,
    git: input.git,
    buildUser: input.buildUser,
    production: input.production,
    signing,
    fragments: sections.map((s) => s.fragment),
    // Keys in bytewise order: stableJsonBytes writes each of these objects without copying it.
    files: listed.map((f) => ({ mode: octalMode(f.mode), path: f.path, sha256: f.sha256, size: f.size })),
    tools: toolVersions(),
    skipped,
  });
  const manifestData = stableJsonBytes(manifest);
  const sums = Buffer.from(formatSha256Sums([...listed, { path: ROOT_FILES.manifest, sha256: sha256(manifestData) }]));
  const signature = Buffer.from(await input.signer.sign(sums, new Date(buildDate * 1000)));
  const rootFiles: RootFile[] = [
    ...documents,
    { path: ROOT_FILES.manifest, data: manifestData, mode: FILE_MODE },
    { path: ROOT_FILES.checksums, data: sums, mode: FILE_MODE },
    { path: ROOT_FILES.signature, data: signature, mode: FILE_MODE },
  ];
  return { rootFiles, listed, manifest };
}

/**
 * SHA-256 of everything the outputs are made of: the sections' fragments as written, the root
 * documents, the npm lockfile (the SBOM lists it), the facts MANIFEST.json records, the signing
 * key, the verifier, the tool versions and the engine's own code.
 */
function assemblyKey(sections: PackagedSection[], documents: RootFile[], npmLock: string, facts: Record<string, unknown>): string {
  const hash = createHash('sha256').update(stableJson({ ...facts, tools: toolVersions(), engine: engineDigest() }));
  for (const { digest } of sections) hash.update(digest);
  for (const document of documents) hash.update(document.path).update(document.data);
  if (existsSync(npmLock)) hash.update(readFileSync(npmLock));
  return hash.digest('hex');
}

/** The validation report that judged exactly this section content; a production build takes only production reports. */
function validationReportFor(options: AssembleOptions, fragment: SectionFragment) {
  const dir = join(options.workspaceRoot, options.validationDir);
  const gate = join(dir, 'release-gate', fragment.section, 'report.json');
  return options.production
    ? findValidationReport([gate], fragment, 'production')
    : findValidationReport([join(dir, fragment.section, 'report.json'), gate], fragment);
}

/**
 * The release gate: every section of a production release is validated in production mode. A
 * section with a passing report of exactly its content (from `nx run-many -t validate-release`,
 * cached) is not validated again; the others are validated here. Returns the sections that failed.
 */
function validateForProduction(options: AssembleOptions, sections: PackagedSection[], version: string, log: (line: string) => void): string[] {
  const failed: string[] = [];
  for (const { fragment, outputDir } of sections) {
    let report = validationReportFor(options, fragment);
    // A failed report is judged again: the failure may have been a tool that is installed now.
    if (!report?.passed) {
      const reportDir = join(options.workspaceRoot, options.validationDir, 'release-gate', fragment.section);
      report = validateSection({ workspaceRoot: options.workspaceRoot, sectionOutput: outputDir, section: fragment.section, version, mode: 'production', reportDir, now: options.now });
      for (const finding of report.findings) log(formatFinding(finding));
      log(formatSummary(report, relative(options.workspaceRoot, join(reportDir, 'report.json'))));
    }
    if (report.counts.error) failed.push(failedValidation(report, `see ${join(options.validationDir, 'release-gate', fragment.section, 'report.json')}`));
  }
  return failed;
}

function imageOf(sections: PackagedSection[]): ChecklistFacts['image'] {
  for (const { fragment } of sections) {
    const image = fragment.metadata.image as { id?: unknown; tags?: unknown } | null | undefined;
    if (image && typeof image.id === 'string') return { id: image.id, tags: Array.isArray(image.tags) ? image.tags.map(String) : [] };
  }
  return undefined;
}

function assertChecklistPasses(facts: ChecklistFacts): void {
  const failed = answerSecurityChecklist(facts).filter((a) => a.status === 'fail');
  if (failed.length) {
    throw new ReleaseError(`a production release cannot be built: the security checklist fails:\n  - ${failed.map((a) => `${a.item}: ${a.evidence.join('; ')}`).join('\n  - ')}`);
  }
}

function assertProductionReady(dirty: boolean, developmentKey: boolean, skipped: Skip[], failedValidation: string[]): void {
  const problems = [
    ...failedValidation,
    ...(dirty ? ['the git tree has uncommitted changes (or is not a git checkout): commit them first'] : []),
    ...(developmentKey ? ['no release signing key: set RELEASE_SIGNING_KEY (+ RELEASE_SIGNING_PASSPHRASE) or GPG_KEY_ID'] : []),
    ...skipped.map((s) => `${s.artifact} was skipped: ${s.reason}`),
  ];
  if (problems.length) throw new ReleaseError(`a production release cannot be built:\n  - ${problems.join('\n  - ')}`);
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
