import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFragment } from '../src/format/fragment';
import { packSection } from '../src/section/packer';
import { resolveSectionSources } from '../src/section/sources';
import { answerSecurityChecklist, ChecklistFacts, ItemStatus, securityChecklistMarkdown } from '../src/assemble/security-checklist';
import { findValidationReport, ValidationReport } from '../src/validation/validate-section';
import { cleanTempDirs, tool } from './helpers';
import { copySection, edit, packAndValidate, VERSION } from './validation-helpers';

test.after(cleanTempDirs);

// Real validation reports of the shipped sections, made once: the checklist is answered from them.
const reports: Record<string, ValidationReport> = {};
test.before(async () => {
  for (const section of ['config', 'kubernetes', 'security']) {
    const { root } = copySection(section);
    reports[section] = await packAndValidate(section, root);
  }
});

function facts(change: Partial<ChecklistFacts> = {}): ChecklistFacts {
  return {
    version: VERSION,
    reports: { ...reports },
    signing: { mode: 'openpgp', fingerprint: 'A'.repeat(40) },
    files: new Set([
      'security/reports/SECURITY_AUDIT_REPORT.md',
      'security/reports/VULNERABILITY_ASSESSMENT.md',
      'security/reports/PENETRATION_TEST_RESULTS.md',
    ]),
    checksummed: 120,
    image: { id: `sha256:${'b'.repeat(64)}`, tags: [`spacetime-vr:${VERSION}`] },
    skipped: [],
    now: new Date(),
    ...change,
  };
}

const statuses = (f: ChecklistFacts): Record<string, ItemStatus> =>
  Object.fromEntries(answerSecurityChecklist(f).map((a) => [a.item, a.status]));

test("every item of the spec's Security Checklist is answered pass, fail or manual from the checks", () => {
  assert.equal(statuses(facts()), {
    'All secrets rotated (not using defaults)': 'manual',
    'No hardcoded credentials in code': 'pass',
    'Docker image scanned (no critical/high CVEs)': 'manual',
    'Kubernetes manifests validated': 'pass',
    'TLS certificates valid (>30 days)': 'manual',
    'Package signed with GPG': 'pass',
    'Checksums generated and verified': 'pass',
    'Security audit report included': 'pass',
    'Vulnerability assessment complete': 'pass',
    'Penetration test passed': 'pass',
  });
  const text = securityChecklistMarkdown(facts()).toString();
  assert.match(text, '- [x] PASS: **Kubernetes manifests validated**');
  assert.match(text, 'security/reports/PENETRATION_TEST_RESULTS.md:15: Critical open: 0 (line 17), High open: 0 (line 18)');
  assert.match(text, `image sha256:${'b'.repeat(64)} (spacetime-vr:${VERSION})`);
  assert.ok(securityChecklistMarkdown(facts()).equals(securityChecklistMarkdown(facts())), 'deterministic');
});

test('a development key, a missing report or a missing validation is never a pass', () => {
  const dev = statuses(facts({ signing: { mode: 'development', fingerprint: 'D'.repeat(40) } }));
  assert.is(dev['Package signed with GPG'], 'fail');
  const noKubernetes = answerSecurityChecklist(facts({ reports: { ...reports, kubernetes: undefined } })).find(
    (a) => a.item === 'Kubernetes manifests validated',
  )!;
  assert.is(noKubernetes.status, 'manual');
  assert.match(noKubernetes.evidence.join('\n'), 'no validation report for this build of kubernetes/');
  assert.is(statuses(facts({ files: new Set() }))['Penetration test passed'], 'fail');
});

test('a failing check fails its item with the finding as evidence, and never a secret value', async () => {
  const { root, src } = copySection('config');
  const secret = 'AKIAIOSFODNN7EXAMPLE';
  edit(join(src, 'src/staging/.env.template'), /\nLOG_LEVEL=.*/, `\nLOG_LEVEL=info\nBACKUP_NOTE=${secret}`);
  const config = await packAndValidate('config', root);
  const answers = answerSecurityChecklist(facts({ reports: { ...reports, config } }));
  const credentials = answers.find((a) => a.item === 'No hardcoded credentials in code')!;
  assert.is(credentials.status, 'fail');
  assert.match(credentials.evidence.join('\n'), 'config/staging/.env.template');
  assert.not.match(JSON.stringify(answers), secret);
});

test('certificate expiry is judged again on the day of assembly, from the dates a cached report kept', async () => {
  const { root, src } = copySection('security');
  tool('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '60',
    '-subj',
    '/CN=edge.spacetime-vr.invalid',
    '-keyout',
    '/dev/null',
    '-out',
    join(src, 'src/certificates/edge.crt'),
  ]);
  const security = await packAndValidate('security', root);
  const today = answerSecurityChecklist(facts({ reports: { ...reports, security } })).find((a) => a.item.startsWith('TLS'))!;
  assert.is(today.status, 'pass', today.evidence.join('\n'));
  const in45days = answerSecurityChecklist(facts({ reports: { ...reports, security }, now: new Date(Date.now() + 45 * 86_400_000) })).find(
    (a) => a.item.startsWith('TLS'),
  )!;
  assert.is(in45days.status, 'fail');
  assert.match(in45days.evidence.join('\n'), 'security/certificates/edge.crt:1');
});

test('a validation report counts only for the exact content it validated', async () => {
  const { root, src } = copySection('security');
  await packAndValidate('security', root);
  const output = join(root, 'dist/sections/security');
  const reportFile = join(root, 'dist/validation/security/report.json');
  assert.ok(findValidationReport([reportFile], readFragment(output, 'security', VERSION)));
  assert.not.ok(findValidationReport([reportFile], readFragment(output, 'security', VERSION), 'production'));
  writeFileSync(join(src, 'src/policies/NEW_POLICY.md'), '# New policy\n');
  await packSection({
    workspaceRoot: root,
    section: 'security',
    version: VERSION,
    sources: resolveSectionSources({
      workspaceRoot: root,
      projectRoot: 'libs/sections/security',
      version: VERSION,
      sources: [{ from: 'src', to: '.', render: true }],
    }),
    skipped: [],
    outputDir: output,
    mtime: 315532800,
  });
  assert.not.ok(findValidationReport([reportFile], readFragment(output, 'security', VERSION)));
});

test.run();
