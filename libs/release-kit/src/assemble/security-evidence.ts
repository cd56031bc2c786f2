import type { Skip } from '../format/fragment';
import type { SigningMode } from '../format/manifest';
import type { Finding } from '../validation/findings';
import { CONTAINER_POLICIES } from '../validation/kubernetes';
import { CERTIFICATE_NOTE, EXPIRY_DAYS, OPEN_FINDINGS_RULE } from '../validation/security';
import type { ValidationReport } from '../validation/validate-section';

/** PASS: a tool checked it in this build. FAIL: it blocks the release. MANUAL: a person acts (the evidence says what to do). */
export type EvidenceStatus = 'pass' | 'fail' | 'manual';

export interface Evidence {
  status: EvidenceStatus;
  evidence: string[];
}

/** The container image a build target recorded in its artifacts.json (carried into the section's fragment). */
export interface ImageFacts {
  id: string;
  tags: string[];
  /** Which path built it (`files`: the daemonless build; `engine`: the Docker engine's), and why the engine when it says. */
  builder?: { name: string; reason?: string };
  /** The digest of the OCI image index naming every platform's image (the daemonless build). */
  index?: string;
  /** Each platform's image manifest digest, by platform (`linux/amd64`). */
  manifests?: Record<string, string>;
  /** The platforms the image was built for, the first the one the build loaded into the engine and ran. */
  platforms?: string[];
  /** Any other SHA-256 digest artifacts.json records for the image, by its field name. */
  digests?: Record<string, string>;
  /** The image tarball the package ships, with the SHA-256 SHA256SUMS lists for it. */
  tarball?: { path: string; sha256: string };
  /** The image it was built FROM. */
  base?: { name: string; id?: string };
}

/** What this build knows, each fact from its own data: nothing here is assumed. */
export interface EvidenceFacts {
  version: string;
  /** Each section's validation report for exactly the content being packaged; absent when none ran. */
  reports: Record<string, ValidationReport | undefined>;
  signing: { mode: SigningMode; fingerprint: string };
  /** Package-relative paths of the sections' files. */
  files: Set<string>;
  image?: ImageFacts;
  skipped: Skip[];
  /** When certificate expiry is judged (release:assemble judges it on the day it runs). */
  now: Date;
  /** What SBOM.cdx.json records besides the package files, from the same inputs the SBOM is made of. */
  sbom?: { npmPackages: number; engine?: string };
}

type Judge = (facts: EvidenceFacts) => Evidence;

/** Kubernetes policies: every container's, then every workload's; `waiver-reason` is a waiver that gives none. */
const POLICIES = [...CONTAINER_POLICIES.map((p) => p.id), 'hpa', 'network-policy'];
const POLICY_RULE = new RegExp(`^k8s/(${[...POLICIES, 'waiver-reason'].join('|')})$`);
const POLICY_CHECK = /^kubernetes policies \((.+)\)$/;

/** The evidence this build can give, by the name a report's evidence marker uses. */
export const EVIDENCE: Record<string, { title: string; judge: Judge }> = {
  image: { title: 'Container image', judge: image },
  'image-scan': { title: 'Image vulnerability scan', judge: imageScan },
  'deployed-image': { title: 'Image of the environment tested', judge: deployedImage },
  sbom: { title: 'Software bill of materials', judge: sbom },
  'secret-scan': { title: 'Secret scan', judge: secretScan },
  'secret-placeholders': { title: 'Secrets in the environment templates', judge: secretPlaceholders },
  'kubernetes-policies': { title: 'Kubernetes policies', judge: kubernetesPolicies },
  certificates: { title: 'Certificate expiry', judge: certificates },
  signing: { title: 'Package signature', judge: signing },
};

function image(f: EvidenceFacts): Evidence {
  if (!f.image) {
    const skip = imageSkip(f);
    return skip
      ? {
          status: 'fail',
          evidence: [`not built: ${skip.artifact}: ${skip.reason}`, 'this package holds no image: nothing said of an image was checked'],
        }
      : { status: 'manual', evidence: ['no section of this release records a container image: check the image that is deployed'] };
  }
  const { tarball, base, builder, index, manifests = {}, digests = {} } = f.image;
  const notRun = f.skipped.find((s) => SMOKE_SKIP.test(s.artifact));
  return {
    status: notRun ? 'manual' : 'pass',
    evidence: [
      describeImage(f.image),
      ...(index ? [`index: ${index}`] : []),
      ...Object.entries(manifests).map(([platform, digest]) => `${platform} manifest: ${digest}`),
      ...Object.entries(digests).map(([field, digest]) => `${field}: ${digest}`),
      ...(tarball ? [`${tarball.path}: SHA-256 ${tarball.sha256} (listed in SHA256SUMS)`] : []),
      ...(builder ? [builtBy(builder)] : []),
      ...(base ? [`built FROM ${base.name}${base.id ? ` (${base.id})` : ''}`] : []),
      notRun
        ? `the build did not start the image: ${notRun.reason}; ` +
          'start it by hand (`docker load`, then `docker run` it) before it is deployed'
        : startedImage(f.image),
    ],
  };
}

/** How an image build records that it did not run the image it built (image-build.ts: "<tarball> (the smoke run of <platform>)"). */
const SMOKE_SKIP = /\(the smoke run of [^)]+\)$/;

function builtBy(builder: NonNullable<ImageFacts['builder']>): string {
  if (builder.name === 'files')
    return 'built from files by the daemonless build (builder "files"): one image per platform, its layers written by the build';
  if (builder.name === 'engine') return `built by the Docker engine (builder "engine")${builder.reason ? `: ${builder.reason}` : ''}`;
  return `built by builder "${builder.name}"`;
}

/** What the build ran: the engine's build runs its one image; the daemonless build loads and runs its first platform's. */
function startedImage(image: ImageFacts): string {
  const [first, ...others] = image.builder?.name === 'files' ? (image.platforms ?? []) : [];
  const which = first ? `the ${first} image` : 'the image';
  const notOthers = others.length ? `; the ${others.join(', ')} image${others.length > 1 ? 's were' : ' was'} not started` : '';
  return `the build started ${which} (its entrypoint smoke run and its HEALTHCHECK) before it recorded it in artifacts.json${notOthers}`;
}

export function imageScan(f: EvidenceFacts): Evidence {
  if (!f.image) return { status: 'manual', evidence: ['no CVE scanner runs in this build, and it has no image to scan'] };
  const ref = f.image.tags[0] ?? f.image.id;
  const load = f.image.tarball ? `\`docker load -i ${f.image.tarball.path}\`, then ` : '';
  return {
    status: 'manual',
    evidence: [
      `no CVE scanner runs in this build: scan image ${f.image.id} by its ID, e.g. ${load}` +
        `\`trivy image --severity CRITICAL,HIGH --exit-code 1 ${ref}\`, and record the result in the vulnerability assessment`,
    ],
  };
}

function deployedImage(f: EvidenceFacts): Evidence {
  if (!f.image) return image(f);
  return {
    status: 'manual',
    evidence: [
      `confirm that the environment tested ran this build's image ${f.image.id}: ` +
        "`docker image inspect --format '{{.Id}}' <the image the environment pulled>` prints that ID",
    ],
  };
}

function sbom(f: EvidenceFacts): Evidence {
  if (!f.sbom) return { status: 'manual', evidence: ['this build wrote no SBOM'] };
  const skip = imageSkip(f);
  const container = f.image
    ? `the container image ${f.image.id}`
    : `no container image${skip ? `, since it was not built: ${skip.reason}` : ': no section of this release records one'}`;
  return {
    status: 'pass',
    evidence: [
      'SBOM.cdx.json (CycloneDX, written by this assembly and listed in SHA256SUMS): every package file with its SHA-256',
      container,
      ...(f.sbom.engine ? [`the Godot engine ${f.sbom.engine} the server was exported with`] : []),
      `${f.sbom.npmPackages} npm packages of package-lock.json, the build's tools (scope "excluded": none of them ships)`,
    ],
  };
}

export function secretScan(f: EvidenceFacts): Evidence {
  const sections = Object.keys(f.reports).sort();
  const scanned = sections.filter((s) => f.reports[s]?.checks.includes('secret scan'));
  const hits = sections.flatMap((s) => errorsOf(f.reports[s], /^secrets\//));
  if (hits.length) return { status: 'fail', evidence: hits.map(cite) };
  const missing = sections.filter((s) => !scanned.includes(s));
  if (missing.length) return notValidated(missing);
  const files = [...f.files].filter((p) => scanned.includes(p.split('/')[0])).length;
  return {
    status: 'pass',
    evidence: [
      'the secret scan (private key blocks, cloud keys, tokens, credentials in URLs, high-entropy strings) read every byte of ' +
        `${files} files in ${scanned.length} sections and found nothing: ${scanned.join(', ')}`,
      'the files made at assembly (release notes, checklists, evidence, SBOM) are scanned by the assembly before they are written',
    ],
  };
}

export function secretPlaceholders(f: EvidenceFacts): Evidence {
  return fromValidation(
    f,
    'config',
    /^config\/(placeholder|secret)/,
    'every secret-like key of every environment template holds only a <PLACEHOLDER>',
  );
}

function kubernetesPolicies(f: EvidenceFacts): Evidence {
  const report = f.reports.kubernetes;
  if (!report) return notValidated(['kubernetes']);
  const errors = errorsOf(report, POLICY_RULE);
  if (errors.length) return { status: 'fail', evidence: errors.map(cite) };
  const ran = report.checks.flatMap((c) => POLICY_CHECK.exec(c)?.[1] ?? []);
  const skips = report.findings.filter((x) => x.severity === 'skip');
  const waivers = report.findings.filter((x) => x.severity === 'waiver' && POLICY_RULE.test(x.rule)).map((w) => `waived: ${cite(w)}`);
  const where = ran.map((r) => (r.startsWith('helm chart ') ? r : `kustomize ${r}`)).join(', ');
  const checked = ran.length
    ? [`kubernetes/ validation (${report.mode}): ${POLICIES.join(', ')} checked on every workload of ${where}: no violation`]
    : [];
  if (!ran.length || skips.length)
    return { status: 'manual', evidence: [...checked, ...skips.map((s) => `not checked: ${cite(s)}`), ...waivers] };
  return { status: 'pass', evidence: [...checked, ...waivers] };
}

export function certificates(f: EvidenceFacts): Evidence {
  const report = f.reports.security;
  if (!report) return notValidated(['security']);
  const broken = errorsOf(report, /^certificates\//);
  const found = report.findings.filter((x) => x.rule === CERTIFICATE_NOTE);
  // A certificate validation already failed is named once; one that expires since is judged today.
  const expiring = found.filter((c) => daysLeft(c, f.now) < EXPIRY_DAYS && !broken.some((b) => b.file === c.file && b.line === c.line));
  if (broken.length || expiring.length)
    return {
      status: 'fail',
      evidence: [...broken.map(cite), ...expiring.map((c) => `${cite(c)}: fewer than ${EXPIRY_DAYS} days left on the day of assembly`)],
    };
  if (!found.length)
    return {
      status: 'manual',
      evidence: [
        'the package ships no certificate (security/certificates/ holds the request configuration): check the one the cluster serves, ' +
          `e.g. \`openssl s_client -connect <host>:443 </dev/null | openssl x509 -noout -checkend ${EXPIRY_DAYS * 86_400}\``,
      ],
    };
  return { status: 'pass', evidence: found.map((c) => `${cite(c)}: more than ${EXPIRY_DAYS} days left on the day of assembly`) };
}

export function signing(f: EvidenceFacts): Evidence {
  return f.signing.mode === 'development'
    ? {
        status: 'fail',
        evidence: [`SHA256SUMS.asc is signed with the development key ${f.signing.fingerprint}: set RELEASE_SIGNING_KEY or GPG_KEY_ID`],
      }
    : {
        status: 'pass',
        evidence: [
          `SHA256SUMS.asc: a detached OpenPGP signature by ${f.signing.fingerprint} ` +
            `(${f.signing.mode === 'gpg' ? 'GPG_KEY_ID, the local gpg keyring' : 'RELEASE_SIGNING_KEY'})`,
        ],
      };
}

/** A security report's own severity table, as the security section's validation read it: an open critical or high finding fails. */
export function openFindings(f: EvidenceFacts, path: string): Evidence {
  const report = f.reports.security;
  if (!report) return notValidated(['security']);
  const open = report.findings.filter((x) => x.file === path && x.rule === OPEN_FINDINGS_RULE && x.severity === 'error');
  if (open.length) return { status: 'fail', evidence: open.map(cite) };
  const summary = report.findings.find((x) => x.file === path && x.rule === OPEN_FINDINGS_RULE);
  if (!summary) return { status: 'manual', evidence: [`${path} has no severity table to read: a reviewer reads it`] };
  return { status: 'pass', evidence: [`${path}:${summary.line}: ${summary.message}`] };
}

/**
 * An item a section's validation answers: its errors fail it; a check of the section that could
 * not run (a missing tool, where `skipsCount`) makes it MANUAL, never a pass.
 */
export function fromValidation(f: EvidenceFacts, section: string, rules: RegExp, passed: string, skipsCount = false): Evidence {
  const report = f.reports[section];
  if (!report) return notValidated([section]);
  const errors = errorsOf(report, rules);
  if (errors.length) return { status: 'fail', evidence: errors.map(cite) };
  const waivers = report.findings.filter((x) => x.severity === 'waiver' && rules.test(x.rule)).map((w) => `waived: ${cite(w)}`);
  const skips = skipsCount ? report.findings.filter((x) => x.severity === 'skip') : [];
  if (skips.length) return { status: 'manual', evidence: [...skips.map((s) => `not checked: ${cite(s)}`), ...waivers] };
  return { status: 'pass', evidence: [`${section}/ validation (${report.mode}): ${passed}`, ...waivers] };
}

function notValidated(sections: string[]): Evidence {
  return {
    status: 'manual',
    evidence: [
      `no validation report for this build of ${sections.map((s) => `${s}/`).join(', ')}: ` +
        'run `npx nx run-many -t validate` before assembling (release:assemble:production always does)',
    ],
  };
}

const MARK: Record<EvidenceStatus, string> = { pass: '[x] PASS', fail: '[ ] FAIL', manual: '[ ] MANUAL' };

/** Answers as Markdown: a count line, then one item per answer with its evidence beneath. */
export function answersMarkdown(answers: Array<Evidence & { item: string }>): string[] {
  const count = (s: EvidenceStatus) => answers.filter((a) => a.status === s).length;
  const lines = [`**${count('pass')} pass, ${count('fail')} fail, ${count('manual')} manual.**`, ''];
  for (const answer of answers) {
    lines.push(`- ${MARK[answer.status]}: **${answer.item}**`);
    for (const evidence of answer.evidence) lines.push(`  - ${evidence}`);
  }
  return lines;
}

/** The image and its tags, as the evidence names it. */
export function describeImage(image: ImageFacts): string {
  return `image ${image.id} (${image.tags.join(', ') || 'untagged'})`;
}

/** Why the image is missing, when a build target said so. */
export function imageSkip(f: EvidenceFacts): Skip | undefined {
  return f.skipped.find((s) => /image/i.test(`${s.artifact} ${s.reason}`));
}

function errorsOf(report: ValidationReport | undefined, rules: RegExp): Finding[] {
  return (report?.findings ?? []).filter((x) => x.severity === 'error' && rules.test(x.rule));
}

function cite(x: Finding): string {
  return `${x.file}${x.line ? `:${x.line}` : ''}: [${x.rule}] ${x.message}`;
}

function daysLeft(note: Finding, now: Date): number {
  const until = /valid until (\S+)$/.exec(note.message)?.[1];
  return until ? (Date.parse(until) - now.getTime()) / 86_400_000 : -1;
}
