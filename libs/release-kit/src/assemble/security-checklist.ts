import type { Skip } from '../format/fragment';
import type { SigningMode } from '../format/manifest';
import type { Finding } from '../validation/findings';
import { CERTIFICATE_NOTE, EXPIRY_DAYS, OPEN_FINDINGS_RULE } from '../validation/security';
import type { ValidationReport } from '../validation/validate-section';

/** Where the answered checklist ships, inside the security section. */
export { SECURITY_CHECKLIST_FILE } from '../format/layout';

export type ItemStatus = 'pass' | 'fail' | 'manual';

export interface ChecklistFacts {
  version: string;
  /** Each section's validation report for exactly the content being packaged; absent when none ran. */
  reports: Record<string, ValidationReport | undefined>;
  signing: { mode: SigningMode; fingerprint: string };
  /** Package-relative paths of the sections' files. */
  files: Set<string>;
  /** Files listed in SHA256SUMS. */
  checksummed: number;
  image?: { id: string; tags: string[] };
  skipped: Skip[];
  /** When certificate expiry is judged (release:assemble judges it on the day it runs). */
  now: Date;
}

export interface ChecklistAnswer {
  item: string;
  status: ItemStatus;
  evidence: string[];
}

type Judge = (facts: ChecklistFacts) => Omit<ChecklistAnswer, 'item'>;

/** The spec's "Security Checklist", item by item, and how each is answered from this build. */
const ITEMS: Array<[item: string, judge: Judge]> = [
  [
    'All secrets rotated (not using defaults)',
    (f) => {
      const config = fromValidation(
        f,
        'config',
        /^config\/(placeholder|secret)/,
        'every secret-like key of every environment template holds only a <PLACEHOLDER>',
      );
      return config.status === 'pass'
        ? {
            status: 'manual',
            evidence: [
              ...config.evidence,
              'rotation happens in the secret store: ' +
                'confirm each production secret was generated for this environment and rotated within 90 days',
            ],
          }
        : config;
    },
  ],
  [
    'No hardcoded credentials in code',
    (f) => {
      const sections = Object.keys(f.reports).sort();
      const missing = sections.filter((s) => !f.reports[s]);
      const hits = sections.flatMap((s) => errorsOf(f.reports[s], /^secrets\//));
      if (hits.length) return { status: 'fail', evidence: hits.map(cite) };
      if (missing.length) return notValidated(missing);
      return {
        status: 'pass',
        evidence: [
          'the secret scan (private key blocks, cloud keys, tokens, high-entropy strings) ' +
            `found nothing in ${sections.length} sections: ${sections.join(', ')}`,
        ],
      };
    },
  ],
  [
    'Docker image scanned (no critical/high CVEs)',
    (f) => {
      const imageSkip = f.skipped.find((s) => /image/i.test(`${s.artifact} ${s.reason}`));
      const vulnerability = openFindings(f, 'security/reports/VULNERABILITY_ASSESSMENT.md');
      const image = f.image
        ? `image ${f.image.id} (${f.image.tags.join(', ') || 'untagged'})`
        : `no image in this build${imageSkip ? `: ${imageSkip.reason}` : ''}`;
      if (vulnerability.status === 'fail') return { status: 'fail', evidence: [image, ...vulnerability.evidence] };
      return {
        status: 'manual',
        evidence: [
          image,
          'no CVE scanner runs in this build: scan the image by its ID (e.g. `trivy image --severity CRITICAL,HIGH --exit-code 1`)',
          ...vulnerability.evidence,
        ],
      };
    },
  ],
  [
    'Kubernetes manifests validated',
    (f) =>
      fromValidation(
        f,
        'kubernetes',
        /^k8s\//,
        'every overlay rendered by `kubectl kustomize` and the Helm chart by `helm template`, ' +
          'checked against the Kubernetes schemas and the pod security policies',
      ),
  ],
  [
    'TLS certificates valid (>30 days)',
    (f) => {
      const report = f.reports.security;
      if (!report) return notValidated(['security']);
      const broken = errorsOf(report, /^certificates\//);
      const certificates = report.findings.filter((x) => x.rule === CERTIFICATE_NOTE);
      const expiring = certificates.filter((c) => daysLeft(c, f.now) < EXPIRY_DAYS);
      if (broken.length || expiring.length)
        return {
          status: 'fail',
          evidence: [...broken.map(cite), ...expiring.map((c) => `${cite(c)}: fewer than ${EXPIRY_DAYS} days left`)],
        };
      if (!certificates.length)
        return {
          status: 'manual',
          evidence: [
            'the package ships no certificate (security/certificates/ holds the request configuration): ' +
              'check the certificate the cluster serves',
          ],
        };
      return { status: 'pass', evidence: certificates.map((c) => `${cite(c)}: more than ${EXPIRY_DAYS} days left`) };
    },
  ],
  [
    'Package signed with GPG',
    (f) =>
      f.signing.mode === 'development'
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
          },
  ],
  [
    'Checksums generated and verified',
    (f) => ({
      status: 'pass',
      evidence: [
        `SHA256SUMS lists ${f.checksummed} files, each hashed from the bytes written into the package; ` +
          'a recipient runs `sha256sum -c SHA256SUMS` and `npx nx run release:verify`',
      ],
    }),
  ],
  ['Security audit report included', (f) => includedReport(f, 'security/reports/SECURITY_AUDIT_REPORT.md')],
  ['Vulnerability assessment complete', (f) => includedReport(f, 'security/reports/VULNERABILITY_ASSESSMENT.md')],
  ['Penetration test passed', (f) => includedReport(f, 'security/reports/PENETRATION_TEST_RESULTS.md')],
];

export function answerSecurityChecklist(facts: ChecklistFacts): ChecklistAnswer[] {
  return ITEMS.map(([item, judge]) => ({ item, ...judge(facts) }));
}

const MARK: Record<ItemStatus, string> = { pass: '[x] PASS', fail: '[ ] FAIL', manual: '[ ] MANUAL' };

/** The answered checklist as Markdown: deterministic for one set of facts. */
export function securityChecklistMarkdown(facts: ChecklistFacts): Buffer {
  const answers = answerSecurityChecklist(facts);
  const count = (s: ItemStatus) => answers.filter((a) => a.status === s).length;
  const lines = [
    `# Security Checklist: answers for release ${facts.version}`,
    '',
    "Generated by `release:assemble` from this build's validation reports, signing and checksums.",
    'PASS was checked by a tool, FAIL blocks the release, MANUAL needs a person (the evidence says',
    'what to check). The procedure behind each item is in `security/SECURITY_CHECKLIST.md`.',
    '',
    `**${count('pass')} pass, ${count('fail')} fail, ${count('manual')} manual.**`,
    '',
  ];
  for (const answer of answers) {
    lines.push(`- ${MARK[answer.status]}: **${answer.item}**`);
    for (const evidence of answer.evidence) lines.push(`  - ${evidence}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

function fromValidation(f: ChecklistFacts, section: string, rules: RegExp, passed: string): Omit<ChecklistAnswer, 'item'> {
  const report = f.reports[section];
  if (!report) return notValidated([section]);
  const errors = errorsOf(report, rules);
  if (errors.length) return { status: 'fail', evidence: errors.map(cite) };
  const waivers = report.findings.filter((x) => x.severity === 'waiver' && rules.test(x.rule));
  return { status: 'pass', evidence: [`${section}/ validation (${report.mode}): ${passed}`, ...waivers.map((w) => `waived: ${cite(w)}`)] };
}

function includedReport(f: ChecklistFacts, path: string): Omit<ChecklistAnswer, 'item'> {
  if (!f.files.has(path)) return { status: 'fail', evidence: [`${path} is not in the package`] };
  return openFindings(f, path);
}

/** A security report passes when its severity table shows no open critical or high finding. */
function openFindings(f: ChecklistFacts, path: string): Omit<ChecklistAnswer, 'item'> {
  const report = f.reports.security;
  if (!report) return notValidated(['security']);
  const open = report.findings.filter((x) => x.file === path && x.rule === OPEN_FINDINGS_RULE && x.severity === 'error');
  if (open.length) return { status: 'fail', evidence: open.map(cite) };
  const summary = report.findings.find((x) => x.file === path && x.rule === OPEN_FINDINGS_RULE);
  if (!summary) return { status: 'manual', evidence: [`${path} has no severity table to read: a reviewer reads it`] };
  return { status: 'pass', evidence: [`${path}:${summary.line}: ${summary.message}`] };
}

function notValidated(sections: string[]): Omit<ChecklistAnswer, 'item'> {
  return {
    status: 'manual',
    evidence: [
      `no validation report for this build of ${sections.map((s) => `${s}/`).join(', ')}: ` +
        'run `npx nx run-many -t validate` before assembling (release:assemble:production always does)',
    ],
  };
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
