// The security reports' evidence: each report that asks for it gets an evidence file, judged from
// this build's own data (real validation reports of real sections, the image its build recorded,
// the SBOM's inputs, the key), shipped in the package and listed in SHA256SUMS like any file.
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AssembleResult } from '../src/assemble/assemble';
import { ReportEvidence, reportEvidence, SecurityReport } from '../src/assemble/report-evidence';
import { EvidenceFacts, EvidenceStatus } from '../src/assemble/security-evidence';
import type { Skip } from '../src/format/fragment';
import { renderVersion } from '../src/format/version-token';
import { packSection } from '../src/section/packer';
import { resolveSectionSources } from '../src/section/sources';
import type { ValidationReport } from '../src/validation/validate-section';
import { verifyPackage } from '../src/verifier/verify-package';
import { assembleFixture } from './fixture-release';
import { cleanTempDirs, incompressible, tool, writeTree } from './helpers';
import { copySection, edit, packAndValidate, VERSION } from './validation-helpers';

test.after(cleanTempDirs);

const WORKSPACE = join(__dirname, '../../..');
const REPORTS = ['PENETRATION_TEST_RESULTS.md', 'SECURITY_AUDIT_REPORT.md', 'VULNERABILITY_ASSESSMENT.md'];
const IMAGE_ID = `sha256:${'1a'.repeat(32)}`;
const INDEX_DIGEST = `sha256:${'2b'.repeat(32)}`;
const TARBALL = `spacetime-vr-${VERSION}.tar.gz`;
const NOT_BUILT: Skip = { artifact: `binaries/${TARBALL}`, reason: 'the image needs a Docker engine, and none answers' };

// Real validation reports of the shipped sections, made once.
const reports: Record<string, ValidationReport> = {};
test.before(async () => {
  for (const section of ['config', 'kubernetes', 'security']) reports[section] = await packAndValidate(section, copySection(section).root);
});

/** The shipped reports as the security section packs them ({{version}} rendered). */
function shippedReports(): SecurityReport[] {
  return REPORTS.map((name) => ({
    path: `security/reports/${name}`,
    text: renderVersion(readFileSync(join(WORKSPACE, 'libs/sections/security/src/reports', name)), VERSION).toString('utf8'),
  }));
}

function facts(change: Partial<EvidenceFacts> = {}): EvidenceFacts {
  return {
    version: VERSION,
    reports: { ...reports },
    signing: { mode: 'openpgp', fingerprint: 'A'.repeat(40) },
    files: new Set(['config/production/.env.template', 'kubernetes/base/deployment.yaml', ...REPORTS.map((r) => `security/reports/${r}`)]),
    image: {
      id: IMAGE_ID,
      tags: [`spacetime-vr:${VERSION}`],
      digests: { index: INDEX_DIGEST },
      tarball: { path: `binaries/${TARBALL}`, sha256: 'c'.repeat(64) },
      base: { name: 'debian:bookworm-slim', id: `sha256:${'d'.repeat(64)}` },
    },
    skipped: [],
    now: new Date(),
    sbom: { npmPackages: 412, engine: '4.5.stable' },
    ...change,
  };
}

const SECTION_ENTRIES = ['security', 'security/SECURITY_CHECKLIST.md', 'security/reports', ...REPORTS.map((r) => `security/reports/${r}`)];
const evidenceOf = (f: EvidenceFacts, reportList = shippedReports()) => reportEvidence(reportList, f, SECTION_ENTRIES);
const item = (e: ReportEvidence, title: string) => {
  const found = e.answers.find((a) => a.item === title);
  if (!found) throw new Error(`${e.path} has no item "${title}": ${e.answers.map((a) => a.item).join(', ')}`);
  return found;
};
const byName = (all: ReportEvidence[], name: string) => all.find((e) => e.path === `security/reports/${name}.evidence.md`)!;
const statuses = (e: ReportEvidence): Record<string, EvidenceStatus> => Object.fromEntries(e.answers.map((a) => [a.item, a.status]));

test('each shipped report gets its evidence file, with the kinds its marker names, judged from real validation reports', () => {
  const all = evidenceOf(facts());
  assert.equal(
    all.map((e) => e.path),
    [
      'security/reports/penetration-test-results.evidence.md',
      'security/reports/security-audit-report.evidence.md',
      'security/reports/vulnerability-assessment.evidence.md',
    ],
  );
  assert.equal(statuses(byName(all, 'vulnerability-assessment')), {
    "Open findings in the report's severity table": 'pass',
    'Container image': 'pass',
    'Image vulnerability scan': 'manual',
    'Software bill of materials': 'pass',
    'Secret scan': 'pass',
    'Secrets in the environment templates': 'pass',
    'Kubernetes policies': 'pass',
    'Certificate expiry': 'manual',
  });
  assert.equal(statuses(byName(all, 'penetration-test-results')), {
    "Open findings in the report's severity table": 'pass',
    'Image of the environment tested': 'manual',
    'Certificate expiry': 'manual',
  });
  const text = byName(all, 'vulnerability-assessment').data.toString();
  assert.match(text, `# Evidence: Vulnerability Assessment, release ${VERSION}`);
  assert.match(text, '[VULNERABILITY_ASSESSMENT.md](VULNERABILITY_ASSESSMENT.md)');
  assert.match(text, `- [x] PASS: **Container image**\n  - image ${IMAGE_ID} (spacetime-vr:${VERSION})\n  - index: ${INDEX_DIGEST}`);
  assert.match(text, `binaries/${TARBALL}: SHA-256 ${'c'.repeat(64)}`);
  assert.match(text, '- [ ] MANUAL: **Image vulnerability scan**\n  - no CVE scanner runs in this build');
  assert.match(text, 'the Godot engine 4.5.stable');
  assert.match(text, '412 npm packages');
  assert.match(
    text,
    /checked on every workload of kustomize base, (.+, )?helm chart spacetime-vr, (.+, )?kustomize production(, .+)?: no violation/,
  );
  assert.match(text, /security\/reports\/VULNERABILITY_ASSESSMENT\.md:\d+: Critical open: 0 \(line \d+\), High open: 0/);
  assert.not.match(text, /scan (passed|found no)/i);
});

test('the evidence is the same bytes for the same facts, whatever order the reports come in', () => {
  const once = evidenceOf(facts());
  const again = evidenceOf(facts(), shippedReports().reverse());
  assert.equal(
    again.map((e) => [e.path, e.data.toString()]),
    once.map((e) => [e.path, e.data.toString()]),
  );
});

test('an image that was not built shows "not built", never a pass; nothing claims it was scanned', () => {
  const all = evidenceOf(facts({ image: undefined, skipped: [NOT_BUILT] }));
  const vulnerability = byName(all, 'vulnerability-assessment');
  const image = item(vulnerability, 'Container image');
  assert.is(image.status, 'fail');
  assert.match(image.evidence[0], `not built: binaries/${TARBALL}: the image needs a Docker engine`);
  assert.is(item(vulnerability, 'Image vulnerability scan').status, 'manual');
  assert.match(
    item(vulnerability, 'Image vulnerability scan').evidence.join('\n'),
    'no CVE scanner runs in this build, and it has no image to scan',
  );
  assert.match(
    item(vulnerability, 'Software bill of materials').evidence.join('\n'),
    'no container image, since it was not built: the image needs a Docker engine',
  );
  assert.is(item(byName(all, 'penetration-test-results'), 'Image of the environment tested').status, 'fail');
  for (const e of all) {
    assert.not.match(e.data.toString(), /PASS: \*\*(Container image|Image)/);
    assert.not.match(e.data.toString(), 'sha256:');
  }
  // A release whose sections record no image and skipped none: a person checks the deployed one.
  assert.is(item(byName(evidenceOf(facts({ image: undefined })), 'vulnerability-assessment'), 'Container image').status, 'manual');
});

test('a secret in a section fails the secret scan item, naming the file and line but never the value', async () => {
  const { root, src } = copySection('config');
  const secret = 'AKIAIOSFODNN7EXAMPLE';
  edit(join(src, 'src/staging/.env.template'), /\nLOG_LEVEL=.*/, `\nLOG_LEVEL=info\nBACKUP_NOTE=${secret}`);
  const config = await packAndValidate('config', root);
  const all = evidenceOf(facts({ reports: { ...reports, config } }));
  const scan = item(byName(all, 'vulnerability-assessment'), 'Secret scan');
  assert.is(scan.status, 'fail');
  assert.match(
    scan.evidence.join('\n'),
    /config\/staging\/\.env\.template:\d+: \[secrets\/cloud-key\] looks like an AWS access key id \(value not shown\)/,
  );
  assert.is(item(byName(all, 'security-audit-report'), 'Secret scan').status, 'fail');
  for (const e of all) assert.not.match(e.data.toString(), secret);
});

test('an expiring certificate fails the certificate item on the day of assembly, from the date a cached report kept', async () => {
  const { root, src } = copySection('security');
  tool('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '40'],
    ...['-subj', '/CN=play.spacetime-vr.invalid', '-keyout', '/dev/null', '-out', join(src, 'src/certificates/game.crt')],
  ]);
  const security = await packAndValidate('security', root);
  const today = item(byName(evidenceOf(facts({ reports: { ...reports, security } })), 'penetration-test-results'), 'Certificate expiry');
  assert.is(today.status, 'pass', today.evidence.join('\n'));
  const in15days = new Date(Date.now() + 15 * 86_400_000);
  const later = item(
    byName(evidenceOf(facts({ reports: { ...reports, security }, now: in15days })), 'penetration-test-results'),
    'Certificate expiry',
  );
  assert.is(later.status, 'fail');
  assert.match(
    later.evidence.join('\n'),
    /security\/certificates\/game\.crt:1: \[certificates\/valid-until\] CN=play\.spacetime-vr\.invalid/,
  );
});

test('a check that did not run is never a pass: a skipped kubectl, a section not validated', () => {
  const kubernetes: ValidationReport = {
    ...reports.kubernetes,
    checks: reports.kubernetes.checks.filter((c) => !c.startsWith('kubernetes policies')),
    findings: [
      {
        rule: 'tool/missing',
        file: 'kubernetes',
        message: 'kubectl kustomize (render every overlay) not run: kubectl is not installed',
        severity: 'skip',
      },
    ],
  };
  const all = evidenceOf(facts({ reports: { ...reports, kubernetes } }));
  const policies = item(byName(all, 'security-audit-report'), 'Kubernetes policies');
  assert.is(policies.status, 'manual');
  assert.equal(policies.evidence, [
    'not checked: kubernetes: [tool/missing] kubectl kustomize (render every overlay) not run: kubectl is not installed',
  ]);

  const unvalidated = evidenceOf(facts({ reports: { ...reports, config: undefined } }));
  const scan = item(byName(unvalidated, 'vulnerability-assessment'), 'Secret scan');
  assert.is(scan.status, 'manual');
  assert.match(scan.evidence[0], 'no validation report for this build of config/');
});

test('an open high finding in a report fails its own evidence', async () => {
  const { root, src } = copySection('security');
  edit(join(src, 'src/reports/PENETRATION_TEST_RESULTS.md'), '| High | 0 | 0 | 0 | 0 |', '| High | 1 | 0 | 1 | 0 |');
  const security = await packAndValidate('security', root);
  const pentest = byName(evidenceOf(facts({ reports: { ...reports, security } })), 'penetration-test-results');
  assert.is(item(pentest, "Open findings in the report's severity table").status, 'fail');
  assert.match(
    pentest.data.toString(),
    /- \[ \] FAIL: \*\*Open findings in the report's severity table\*\*\n {2}- security\/reports\/PENETRATION_TEST_RESULTS\.md:\d+: \[security\/open-findings\] 1 High finding is open/,
  );
});

test('a bad evidence marker is an error naming the report and line; a report without one gets no evidence file', () => {
  const report = (text: string): SecurityReport[] => [{ path: 'security/reports/RED_TEAM.md', text: `# Red team\n\nnarrative\n${text}\n` }];
  const fails = (text: string, message: RegExp) =>
    assert.throws(
      () => evidenceOf(facts(), report(text)),
      (e: Error) => message.test(e.message),
      text,
    );
  fails(
    '<!-- evidence: image imgae -->',
    /^security\/reports\/RED_TEAM\.md:4: unknown kind of evidence: imgae\n {2}hint: known kinds: image, image-scan/,
  );
  fails('<!-- evidence: -->', /RED_TEAM\.md:4: the evidence marker names no kind of evidence/);
  fails('<!-- evidence: image -->\n<!-- evidence: sbom -->', /RED_TEAM\.md:5: a second evidence marker \(the first is on line 4\)/);
  fails('<!-- evidence: constructor -->', /unknown kind of evidence: constructor/);
  // A lower-case report's evidence would sort before the report in the archives: refused before anything is written.
  assert.throws(
    () =>
      reportEvidence([{ path: 'security/reports/zap.md', text: '<!-- evidence: image -->' }], facts(), [
        ...SECTION_ENTRIES,
        'security/reports/zap.md',
      ]),
    /security\/reports\/zap\.md: its evidence would be security\/reports\/zap\.evidence\.md, which sorts before or at security\/reports\/zap\.md/,
  );
  assert.equal(evidenceOf(facts(), report('no marker here')), []);
  const listed = evidenceOf(facts(), report('<!-- evidence: sbom, image sbom -->'))[0];
  assert.equal(
    listed.answers.map((a) => a.item),
    ["Open findings in the report's severity table", 'Software bill of materials', 'Container image'],
  );
});

/** A workspace with the real security section and a binaries section whose image build recorded `image` (or skipped it). */
async function assembleWith(
  image: Record<string, unknown> | null,
  skipped: Skip[],
  editSecurity?: (src: string) => void,
): Promise<{ root: string; release: AssembleResult }> {
  const { root, src } = copySection('security');
  editSecurity?.(src);
  await packAndValidate('security', root);
  writeTree(root, {
    VERSION: `${VERSION}\n`,
    'libs/release/release.config.json': JSON.stringify({
      sections: ['binaries', 'security'],
      environments: ['production'],
      templates: { releaseNotes: 'templates/notes.md', checklist: 'templates/checklist.md' },
    }),
    'libs/release/templates/notes.md': '# Release {{version}}\n',
    'libs/release/templates/checklist.md': '- [ ] deploy {{version}}\n',
    'libs/sections/binaries/src/VERSION.txt': `${VERSION}\n`,
    ...(image ? { [`libs/sections/binaries/src/${TARBALL}`]: incompressible(4096) } : {}),
  });
  copyFileSync(join(WORKSPACE, 'package-lock.json'), join(root, 'package-lock.json'));
  await packSection({
    workspaceRoot: root,
    section: 'binaries',
    version: VERSION,
    sources: resolveSectionSources({
      workspaceRoot: root,
      projectRoot: 'libs/sections/binaries',
      version: VERSION,
      sources: [{ from: 'src', to: '.' }],
    }),
    skipped,
    metadata: { image, godot: { version: null } },
    outputDir: join(root, 'dist/sections/binaries'),
    mtime: 315532800,
  });
  const release = await assembleFixture(root);
  return { root, release };
}

test('assembled: the evidence ships in the package, listed in SHA256SUMS and the SBOM, and agrees with both', async () => {
  const recorded = {
    id: IMAGE_ID,
    size: 1234,
    tags: [`spacetime-vr:${VERSION}`],
    tarball: TARBALL,
    labels: { note: `sha256:${'e'.repeat(64)}` },
    // Fields an image build may add: a digest is shown under its name, anything else is left alone.
    manifest: { digest: INDEX_DIGEST, mediaType: 'application/vnd.oci.image.index.v1+json' },
    platforms: ['linux/amd64', 'linux/arm64'],
    future: 42,
    base: { name: 'debian:bookworm-slim', id: `sha256:${'d'.repeat(64)}`, repoDigests: [] },
  };
  const { root, release } = await assembleWith(recorded, []);
  const pkg = release.packageDir;
  const sums = readFileSync(join(pkg, 'SHA256SUMS'), 'utf8');
  const evidence = readFileSync(join(pkg, 'security/reports/vulnerability-assessment.evidence.md'), 'utf8');
  for (const name of ['penetration-test-results', 'security-audit-report', 'vulnerability-assessment'])
    assert.match(sums, `  ./security/reports/${name}.evidence.md\n`);
  assert.match(
    evidence,
    `- [x] PASS: **Container image**\n  - image ${IMAGE_ID} (spacetime-vr:${VERSION})\n  - manifest: ${INDEX_DIGEST}\n`,
  );
  assert.not.match(evidence, 'e'.repeat(64));
  const tarballSum = sums
    .split('\n')
    .find((l) => l.endsWith(`./binaries/${TARBALL}`))!
    .split(' ')[0];
  assert.match(evidence, `binaries/${TARBALL}: SHA-256 ${tarballSum} (listed in SHA256SUMS)`);
  assert.match(evidence, `built FROM debian:bookworm-slim (sha256:${'d'.repeat(64)})`);

  const sbom = JSON.parse(readFileSync(join(pkg, 'SBOM.cdx.json'), 'utf8'));
  const components = sbom.components as Array<{ type: string; version?: string; purl?: string; name: string }>;
  assert.equal(
    components.filter((c) => c.type === 'container').map((c) => c.version),
    [IMAGE_ID],
  );
  const npm = components.filter((c) => c.purl?.startsWith('pkg:npm/')).length;
  assert.ok(npm > 100, `${npm} npm components`);
  assert.match(evidence, `${npm} npm packages of package-lock.json`);
  assert.ok(
    components.some((c) => c.name === 'security/reports/vulnerability-assessment.evidence.md'),
    'the SBOM lists the evidence',
  );

  // The answered checklist counts the evidence among the files SHA256SUMS lists.
  const listed = sums.trimEnd().split('\n').length;
  assert.match(readFileSync(join(pkg, 'security/reports/security-checklist.md'), 'utf8'), `SHA256SUMS lists ${listed} files`);
  for (const kind of ['folder', 'tar.gz', 'zip'] as const) {
    const target = kind === 'folder' ? pkg : kind === 'zip' ? release.zip : release.tarGz;
    assert.equal((await verifyPackage(target, kind, { keyFile: release.publicKey })).failures, [], kind);
  }

  // Assembled again from the same build: the same evidence, byte for byte, and no path of the workspace in it.
  const paths = ['penetration-test-results', 'security-audit-report', 'vulnerability-assessment'].map(
    (name) => `security/reports/${name}.evidence.md`,
  );
  const first = paths.map((path) => readFileSync(join(pkg, path), 'utf8'));
  for (const text of first) assert.not.match(text, root);
  rmSync(join(root, 'dist/release'), { recursive: true });
  const again = await assembleFixture(root);
  assert.equal(
    paths.map((path) => readFileSync(join(again.packageDir, path), 'utf8')),
    first,
  );
});

/** What image-build.ts records for an image built from files (buildFromFiles), and for one the Docker engine built (buildAndSaveImage). */
const AMD64_MANIFEST = `sha256:${'3c'.repeat(32)}`;
const ARM64_MANIFEST = `sha256:${'4d'.repeat(32)}`;
const BASE_INDEX = `sha256:${'5e'.repeat(32)}`;
const FROM_FILES = {
  builder: 'files',
  platforms: ['linux/amd64', 'linux/arm64'],
  index: INDEX_DIGEST,
  manifests: { 'linux/amd64': AMD64_MANIFEST, 'linux/arm64': ARM64_MANIFEST },
  id: IMAGE_ID,
  size: 1234,
  tags: [`spacetime-vr:${VERSION}`],
  labels: { 'org.opencontainers.image.version': VERSION },
  tarball: TARBALL,
  sbom: `spacetime-vr-${VERSION}.image.cdx.json`,
  base: {
    name: `oci-layout://busybox@${BASE_INDEX}`,
    id: BASE_INDEX,
    manifests: { 'linux/amd64': `sha256:${'6f'.repeat(32)}`, 'linux/arm64': `sha256:${'70'.repeat(32)}` },
  },
};
const BY_ENGINE = {
  builder: 'engine',
  builderReason: 'libs/sections/binaries/Dockerfile:25: RUN needs the Docker engine',
  platforms: ['linux/amd64'],
  id: IMAGE_ID,
  size: 1234,
  tags: [`spacetime-vr:${VERSION}`],
  labels: { 'org.opencontainers.image.version': VERSION },
  tarball: TARBALL,
  base: { name: 'debian:bookworm-slim', id: `sha256:${'d'.repeat(64)}`, repoDigests: [] },
};

test("assembled from what image-build.ts records: the index, each platform's manifest and the builder in the image evidence", async () => {
  const files = await assembleWith(FROM_FILES, []);
  const evidence = readFileSync(join(files.release.packageDir, 'security/reports/vulnerability-assessment.evidence.md'), 'utf8');
  const tarballSum = readFileSync(join(files.release.packageDir, 'SHA256SUMS'), 'utf8')
    .split('\n')
    .find((l) => l.endsWith(`./binaries/${TARBALL}`))!
    .split(' ')[0];
  assert.match(
    evidence,
    [
      '- [x] PASS: **Container image**',
      `  - image ${IMAGE_ID} (spacetime-vr:${VERSION})`,
      `  - index: ${INDEX_DIGEST}`,
      `  - linux/amd64 manifest: ${AMD64_MANIFEST}`,
      `  - linux/arm64 manifest: ${ARM64_MANIFEST}`,
      `  - binaries/${TARBALL}: SHA-256 ${tarballSum} (listed in SHA256SUMS)`,
      '  - built from files by the daemonless build (builder "files"): one image per platform, its layers written by the build',
      `  - built FROM oci-layout://busybox@${BASE_INDEX} (${BASE_INDEX})`,
      '  - the build started the linux/amd64 image (its entrypoint smoke run and its HEALTHCHECK) before it recorded it in ' +
        'artifacts.json; the linux/arm64 image was not started',
      '',
    ].join('\n'),
  );
  // Each digest once, under its own name: the manifests object is not mistaken for a digest field, nor the base's.
  assert.is(evidence.split(INDEX_DIGEST).length - 1, 1);
  assert.not.match(evidence, '6f'.repeat(32));
  // The SBOM names the same image by its index.
  const sbom = JSON.parse(readFileSync(join(files.release.packageDir, 'SBOM.cdx.json'), 'utf8'));
  assert.equal(
    sbom.components.filter((c: { type: string }) => c.type === 'container').map((c: { version: string }) => c.version),
    [INDEX_DIGEST],
  );

  const engine = await assembleWith(BY_ENGINE, []);
  const built = readFileSync(join(engine.release.packageDir, 'security/reports/vulnerability-assessment.evidence.md'), 'utf8');
  assert.match(
    built,
    `  - built by the Docker engine (builder "engine"): libs/sections/binaries/Dockerfile:25: RUN needs the Docker engine\n` +
      `  - built FROM debian:bookworm-slim (sha256:${'d'.repeat(64)})\n` +
      '  - the build started the image (its entrypoint smoke run and its HEALTHCHECK) before it recorded it in artifacts.json\n',
  );
  assert.not.match(built, /index:|manifest:/);
});

test('an image built from files whose run was skipped is MANUAL, saying why, never "started"', () => {
  const notRun: Skip = {
    artifact: `binaries/dist/binaries/image/${TARBALL} (the smoke run of linux/amd64)`,
    reason: 'this machine is linux/arm64: it cannot run the linux/amd64 image',
  };
  const image = {
    ...facts().image!,
    digests: {},
    builder: { name: 'files' },
    index: INDEX_DIGEST,
    manifests: { 'linux/amd64': AMD64_MANIFEST, 'linux/arm64': ARM64_MANIFEST },
    platforms: ['linux/amd64', 'linux/arm64'],
  };
  const answer = item(byName(evidenceOf(facts({ image, skipped: [notRun] })), 'vulnerability-assessment'), 'Container image');
  assert.is(answer.status, 'manual');
  assert.ok(answer.evidence.includes(`linux/arm64 manifest: ${ARM64_MANIFEST}`), answer.evidence.join('\n'));
  assert.is(
    answer.evidence.at(-1),
    'the build did not start the image: this machine is linux/arm64: it cannot run the linux/amd64 image; ' +
      'start it by hand (`docker load`, then `docker run` it) before it is deployed',
  );
  assert.not.ok(answer.evidence.some((e) => e.startsWith('the build started')));
});

test('assembled without an image: "not built" in the evidence, no container in the SBOM, and the package verifies', async () => {
  const { release } = await assembleWith(null, [NOT_BUILT]);
  const pkg = release.packageDir;
  const evidence = readFileSync(join(pkg, 'security/reports/vulnerability-assessment.evidence.md'), 'utf8');
  assert.match(
    evidence,
    `- [ ] FAIL: **Container image**\n  - not built: binaries/${TARBALL}: the image needs a Docker engine, and none answers`,
  );
  assert.not.match(evidence, /PASS: \*\*Container image/);
  const sbom = JSON.parse(readFileSync(join(pkg, 'SBOM.cdx.json'), 'utf8'));
  assert.equal(
    sbom.components.filter((c: { type: string }) => c.type === 'container'),
    [],
  );
  assert.equal((await verifyPackage(pkg, 'folder', { keyFile: release.publicKey })).failures, []);
});

test('a report edited to ask for an unknown kind stops the assembly with its file and line', async () => {
  let line = 0;
  const failed = await assembleWith(null, [NOT_BUILT], (src) => {
    const file = join(src, 'src/reports/SECURITY_AUDIT_REPORT.md');
    edit(file, '<!-- evidence: kubernetes-policies', '<!-- evidence: cve-scan kubernetes-policies');
    line =
      readFileSync(file, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('cve-scan')) + 1;
  }).catch((e: Error) => e);
  assert.instance(failed, Error);
  assert.match((failed as Error).message, `security/reports/SECURITY_AUDIT_REPORT.md:${line}: unknown kind of evidence: cve-scan`);
});

test.run();
