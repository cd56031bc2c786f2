// The security reports' evidence, through `nx run release:assemble`: written from this build's
// validation reports, image record and SBOM inputs; shipped, checksummed and verified like every
// package file; the same bytes when assembled again; a crafted secret and an expiring certificate
// show as FAIL, and an image this machine cannot build shows as "not built".
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, commitAll, copyWorkspace, nx, sh, tempDir } from './workspace';

const VERSION = '2.5.0';
const EVIDENCE = ['penetration-test-results', 'security-audit-report', 'vulnerability-assessment'].map(
  (name) => `security/reports/${name}.evidence.md`,
);
const SECRET = 'AKIAIOSFODNN7EXAMPLE';
let ws = '';
let env: NodeJS.ProcessEnv = {};
let pkg = '';
const read = (path: string) => readFileSync(join(pkg, path), 'utf8');

test.before(() => {
  ws = copyWorkspace('security-evidence');
  env = { XDG_CONFIG_HOME: tempDir('signing-keys') };
  pkg = join(ws, `dist/release/spacetime-vr-v${VERSION}`);
});
test.after(cleanUp);

test('after validate, release:assemble ships each report with evidence from this build, checksummed and verified', () => {
  const validate = nx(ws, ['run-many', '-t', 'validate', '--output-style=static'], env);
  assert.is(validate.status, 0, validate.output);
  const run = nx(ws, ['run', 'release:assemble', '--output-style=static'], env);
  assert.is(run.status, 0, run.output);

  const sums = sh(pkg, 'sha256sum -c SHA256SUMS');
  assert.is(sums.status, 0, sums.output);
  for (const path of EVIDENCE) assert.match(sums.output, `./${path}: OK`);
  const verify = nx(ws, ['run', 'release:verify'], env);
  assert.is(verify.status, 0, verify.output);

  // The image as this build recorded it: built (its ID), or not built (the reason MANIFEST.json gives).
  const manifest = JSON.parse(read('MANIFEST.json'));
  const vulnerability = read('security/reports/vulnerability-assessment.evidence.md');
  const sbom = JSON.parse(read('SBOM.cdx.json'));
  const containers = sbom.components.filter((c: { type: string }) => c.type === 'container');
  const imageSkip = manifest.skipped.find((s: { artifact: string }) => s.artifact === `binaries/spacetime-vr-${VERSION}.tar.gz`);
  if (imageSkip) {
    assert.match(vulnerability, `- [ ] FAIL: **Container image**\n  - not built: ${imageSkip.artifact}: ${imageSkip.reason}`);
    assert.equal(containers, []);
  } else {
    const image = manifest.sections.find((s: { name: string }) => s.name === 'binaries').metadata.image;
    assert.match(vulnerability, `- [x] PASS: **Container image**\n  - image ${image.id}`);
    assert.equal(
      containers.map((c: { version: string }) => c.version),
      [image.id],
    );
  }
  assert.match(vulnerability, '- [ ] MANUAL: **Image vulnerability scan**');
  assert.not.match(vulnerability, /PASS: \*\*Image vulnerability scan/);
  assert.match(
    vulnerability,
    /- \[x\] PASS: \*\*Secret scan\*\*\n {2}- .* read every byte of \d+ files in 8 sections and found nothing: binaries, config, docs, kubernetes, monitoring, scripts, security, tests/,
  );
  assert.match(vulnerability, /- \[x\] PASS: \*\*Kubernetes policies\*\*\n {2}- kubernetes\/ validation \(development\): run-as-non-root/);
  assert.match(vulnerability, '- [ ] MANUAL: **Certificate expiry**\n  - the package ships no certificate');
  const npm = sbom.components.filter((c: { purl?: string }) => c.purl?.startsWith('pkg:npm/')).length;
  assert.match(vulnerability, `${npm} npm packages of package-lock.json`);
  assert.match(read('security/reports/penetration-test-results.evidence.md'), '**Image of the environment tested**');
  assert.match(read('security/reports/VULNERABILITY_ASSESSMENT.md'), '(vulnerability-assessment.evidence.md)');
  // The answered checklist counts the evidence among the files SHA256SUMS lists.
  assert.match(read('security/reports/security-checklist.md'), `SHA256SUMS lists ${read('SHA256SUMS').trimEnd().split('\n').length} files`);

  // Assembled again from the same build: the same bytes, and no path of this machine in them.
  const first = EVIDENCE.map(read);
  for (const text of first) assert.not.match(text, ws);
  rmSync(join(ws, 'dist/release'), { recursive: true, force: true });
  const again = nx(ws, ['run', 'release:assemble', '--excludeTaskDependencies', '--output-style=static'], env);
  assert.is(again.status, 0, again.output);
  assert.equal(EVIDENCE.map(read), first);
});

test('a committed secret and a certificate expiring in 10 days show as FAIL, naming the file, never the value', () => {
  writeFileSync(join(ws, 'libs/sections/scripts/src/deployment/NOTES.txt'), `backup bucket key: ${SECRET}\n`);
  const cert = join(ws, 'libs/sections/security/src/certificates/edge.crt');
  const openssl = sh(
    ws,
    'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 10 ' +
      `-subj /CN=edge.spacetime-vr.invalid -keyout /dev/null -out ${cert}`,
  );
  assert.is(openssl.status, 0, openssl.output);
  commitAll(ws, 'security: edge certificate; deployment notes');
  // Validation fails (it should), and its reports say why: the development assembly answers from them.
  const validate = nx(ws, ['run-many', '-t', 'validate', '--output-style=static'], env);
  assert.is.not(validate.status, 0, validate.output);
  const run = nx(ws, ['run', 'release:assemble', '--output-style=static'], env);
  assert.is(run.status, 0, run.output);

  const audit = read('security/reports/security-audit-report.evidence.md');
  assert.match(
    audit,
    '- [ ] FAIL: **Secret scan**\n' +
      '  - scripts/deployment/NOTES.txt:1: [secrets/cloud-key] looks like an AWS access key id (value not shown)',
  );
  const pentest = read('security/reports/penetration-test-results.evidence.md');
  assert.match(
    pentest,
    /- \[ \] FAIL: \*\*Certificate expiry\*\*\n {2}- security\/certificates\/edge\.crt:1: \[certificates\/expiry\] CN=edge\.spacetime-vr\.invalid expires within 30 days/,
  );
  for (const path of EVIDENCE) assert.not.match(read(path), SECRET);
  assert.not.match(run.output, SECRET);
  assert.is(sh(pkg, 'sha256sum -c SHA256SUMS').status, 0);
});

test.run();
