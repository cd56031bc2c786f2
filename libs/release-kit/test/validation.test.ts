import { chmodSync, mkdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDocument } from 'yaml';
import { markdownAnchors } from '../src/validation/docs';
import { standInForKubernetesSd } from '../src/validation/monitoring';
import { SECRET_PATTERNS } from '../src/validation/secrets';
import { checkTools, compareVersions, resetToolCache } from '../src/validation/tools';
import type { Finding } from '../src/validation/findings';
import { cleanTempDirs, tempDir, tool } from './helpers';
import { copySection, edit, errors, lineOf, packAndValidate, show, VERSION } from './validation-helpers';

test.after(cleanTempDirs);

/** Asserts one error finding with this rule, file and (when given) line. */
function expectFinding(found: Finding[], rule: string, file: string, line?: number, message?: RegExp): void {
  const hit = found.find(
    (f) =>
      f.severity === 'error' &&
      f.rule === rule &&
      f.file === file &&
      (line === undefined || f.line === line) &&
      (!message || message.test(f.message)),
  );
  assert.ok(hit, `expected ${rule} at ${file}:${line ?? '?'}; got:\n${show(found)}`);
}

/** Edits one YAML document of a file through the yaml library (comments kept). */
function editYaml(file: string, change: (doc: ReturnType<typeof parseDocument>) => void): void {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  change(doc);
  writeFileSync(file, doc.toString());
}

for (const section of ['config', 'scripts', 'kubernetes', 'monitoring', 'docs', 'tests', 'security']) {
  test(`the shipped ${section} section passes every rule`, async () => {
    const { root } = copySection(section);
    const report = await packAndValidate(section, root);
    assert.equal(errors(report), [], show(report.findings));
    assert.ok(report.passed);
    assert.ok(report.checks.length > 0);
  });
}

const CONTAINER = ['spec', 'template', 'spec', 'containers', 0];

test('kubernetes: every container policy is checked, and one run reports every failure', async () => {
  const { root, src } = copySection('kubernetes');
  const deployment = join(src, 'src/base/deployment.yaml');
  editYaml(deployment, (doc) => {
    doc.setIn(['spec', 'template', 'spec', 'securityContext', 'runAsNonRoot'], false);
    doc.setIn([...CONTAINER, 'securityContext', 'runAsNonRoot'], false);
    doc.setIn([...CONTAINER, 'securityContext', 'readOnlyRootFilesystem'], false);
    doc.setIn([...CONTAINER, 'securityContext', 'allowPrivilegeEscalation'], true);
    doc.deleteIn([...CONTAINER, 'resources', 'limits']);
    doc.deleteIn([...CONTAINER, 'readinessProbe']);
    doc.setIn([...CONTAINER, 'image'], 'busybox:latest');
  });
  const report = await packAndValidate('kubernetes', root);
  const file = 'kubernetes/base/deployment.yaml';
  const found = errors(report);
  const containerSc = lineOf(deployment, 'securityContext:', lineOf(deployment, 'containers:'));
  expectFinding(found, 'k8s/run-as-non-root', file, lineOf(deployment, 'runAsNonRoot', containerSc));
  expectFinding(found, 'k8s/read-only-root-filesystem', file, lineOf(deployment, 'readOnlyRootFilesystem'));
  expectFinding(found, 'k8s/no-privilege-escalation', file, lineOf(deployment, 'allowPrivilegeEscalation'));
  expectFinding(found, 'k8s/resources', file, lineOf(deployment, /^\s+resources:/), /limits\.cpu, limits\.memory/);
  expectFinding(found, 'k8s/probes', file, lineOf(deployment, '- name: spacetime-vr'), /readinessProbe/);
  expectFinding(found, 'k8s/image-tag', file, lineOf(deployment, 'image: busybox:latest'), /:latest/);
  // The production overlay is checked too.
  assert.ok(
    found.some((f) => f.rule === 'k8s/read-only-root-filesystem' && /\(production\)/.test(f.message)),
    show(found),
  );
  assert.not.ok(report.passed);
  const written = JSON.parse(readFileSync(join(root, 'dist/validation/kubernetes/report.json'), 'utf8'));
  assert.is(written.counts.error, found.length);
});

test('kubernetes: an HPA and a NetworkPolicy must be present', async () => {
  const { root, src } = copySection('kubernetes');
  edit(join(src, 'src/base/kustomization.yaml'), /\n {2}- hpa\.yaml/, '');
  edit(join(src, 'src/base/kustomization.yaml'), /\n {2}- networkpolicy\.yaml/, '');
  const report = await packAndValidate('kubernetes', root);
  const line = lineOf(join(src, 'src/base/deployment.yaml'), /^kind: Deployment/);
  expectFinding(errors(report), 'k8s/hpa', 'kubernetes/base/deployment.yaml', line);
  expectFinding(errors(report), 'k8s/network-policy', 'kubernetes/base/deployment.yaml', line);
});

test('kubernetes: a waiver needs a reason and is listed; schemas are checked with lines', async () => {
  const { root, src } = copySection('kubernetes');
  const deployment = join(src, 'src/base/deployment.yaml');
  editYaml(deployment, (doc) => {
    doc.setIn([...CONTAINER, 'securityContext', 'readOnlyRootFilesystem'], false);
    doc.setIn(['metadata', 'annotations'], {
      'spacetime-vr.io/waive-read-only-root-filesystem': 'Godot writes its shader cache next to the binary',
      'spacetime-vr.io/waive-no-privilege-escalation': '',
    });
    doc.setIn([...CONTAINER, 'securityContext', 'allowPrivilegeEscalation'], true);
    doc.setIn([...CONTAINER, 'ports', 0, 'containerPort'], 'eighty');
  });
  const report = await packAndValidate('kubernetes', root);
  const found = errors(report);
  const file = 'kubernetes/base/deployment.yaml';
  assert.not.ok(
    found.some((f) => f.rule === 'k8s/read-only-root-filesystem'),
    show(found),
  );
  const waivers = report.findings.filter((f) => f.severity === 'waiver');
  assert.ok(
    waivers.some((w) => w.rule === 'k8s/read-only-root-filesystem' && /shader cache/.test(w.message) && w.file === file),
    show(report.findings),
  );
  expectFinding(found, 'k8s/waiver-reason', file, lineOf(deployment, 'waive-no-privilege-escalation'));
  expectFinding(found, 'k8s/no-privilege-escalation', file, lineOf(deployment, 'allowPrivilegeEscalation'));
  expectFinding(found, 'k8s/schema', file, lineOf(deployment, 'containerPort: eighty'), /must be integer/);
});

test('kubernetes: an overlay kubectl kustomize cannot render is a finding', async () => {
  const { root, src } = copySection('kubernetes');
  edit(join(src, 'src/overlays/staging/kustomization.yaml'), '  - ../../base', '  - ../../base\n  - missing.yaml');
  const report = await packAndValidate('kubernetes', root);
  expectFinding(errors(report), 'k8s/render', 'kubernetes/overlays/staging/kustomization.yaml', undefined, /missing\.yaml/);
});

test('kubernetes: the Helm chart is rendered by helm and held to the same policies', async () => {
  assert.match(tool('helm', ['version', '--short']), /^v3\./, 'helm is installed by tools/install-toolchain.sh');
  const { root, src } = copySection('kubernetes');
  const chart = join(src, 'src/helm/spacetime-vr');
  edit(join(chart, 'values.yaml'), 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false');
  const policies = errors(await packAndValidate('kubernetes', root));
  expectFinding(
    policies,
    'k8s/read-only-root-filesystem',
    'kubernetes/helm/spacetime-vr/templates/deployment.yaml',
    undefined,
    /helm chart spacetime-vr/,
  );

  const template = join(chart, 'templates/deployment.yaml');
  const line = lineOf(template, 'image: {{ include');
  edit(template, '"spacetime-vr.image" . | quote }}', '"spacetime-vr.image" . | quote }');
  const broken = errors(await packAndValidate('kubernetes', root));
  expectFinding(broken, 'k8s/helm-render', 'kubernetes/helm/spacetime-vr/templates/deployment.yaml', line, /unexpected "\}"/);
});

test('monitoring: promtool, amtool and the dashboard rules report every failure with its line', async () => {
  const { root, src } = copySection('monitoring');
  const alerts = join(src, 'src/prometheus/alerts.yml');
  edit(alerts, 'expr: up{job="spacetime-vr"} == 0', 'expr: up{job="spacetime-vr" == 0');
  const prometheus = join(src, 'src/prometheus/prometheus.yml');
  edit(prometheus, '  scrape_interval: 15s', '  scrape_interval: fifteen');
  edit(join(src, 'src/alertmanager/config.yml'), '  receiver: slack-warning', '  receiver: nobody-home');
  const meshing = join(src, 'src/grafana/dashboards/server-meshing.json');
  edit(meshing, '"uid": "spacetime-server-meshing"', '"uid": "spacetime-http-api"');
  const api = join(src, 'src/grafana/dashboards/http-api-overview.json');
  const dash = JSON.parse(readFileSync(api, 'utf8'));
  const board = dash.dashboard ?? dash;
  delete board.panels[1].datasource;
  board.panels[1].targets[0].expr = '';
  writeFileSync(api, JSON.stringify(dash, null, 2));
  const report = await packAndValidate('monitoring', root);
  const found = errors(report);
  expectFinding(found, 'promtool/rules', 'monitoring/prometheus/alerts.yml', lineOf(alerts, 'expr: up{job="spacetime-vr" == 0'));
  expectFinding(
    found,
    'promtool/config',
    'monitoring/prometheus/prometheus.yml',
    lineOf(prometheus, 'scrape_interval: fifteen'),
    /fifteen/,
  );
  const alertmanager = join(src, 'src/alertmanager/config.yml');
  expectFinding(
    found,
    'amtool/config',
    'monitoring/alertmanager/config.yml',
    lineOf(alertmanager, 'nobody-home'),
    /undefined receiver "nobody-home"/,
  );
  expectFinding(found, 'grafana/uid', 'monitoring/grafana/dashboards/server-meshing.json', lineOf(meshing, '"uid": "spacetime-http-api"'));
  const panelLine = lineOf(api, /^\s{4,6}\{/, lineOf(api, '"panels"'));
  assert.ok(
    found.some(
      (f) => f.rule === 'grafana/datasource' && f.file === 'monitoring/grafana/dashboards/http-api-overview.json' && f.line! > panelLine,
    ),
    show(found),
  );
  expectFinding(found, 'grafana/expr', 'monitoring/grafana/dashboards/http-api-overview.json');
  // Debian's promtool has no Kubernetes SD: the report says how the file was checked.
  const note = report.findings.find((f) => f.rule === 'promtool/kubernetes-sd');
  if (/kubernetes_sd_configs not found/.test(tool('bash', ['-c', `promtool check config ${prometheus} 2>&1 || true`]))) {
    assert.ok(note && note.severity === 'note' && note.line === lineOf(prometheus, 'kubernetes_sd_configs:'), show(report.findings));
  }
});

test('monitoring: the kubernetes_sd_configs stand-in keeps every line where it was', () => {
  const text =
    'scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n' +
    '      - role: pod\n        namespaces:\n          names: [x]\n      - role: endpoints\n' +
    '    relabel_configs: []\n';
  const { text: out, replaced } = standInForKubernetesSd(text);
  assert.equal(replaced, [3]);
  assert.is(out.split('\n').length, text.split('\n').length);
  const parsed = parseDocument(out).toJS();
  assert.equal(parsed.scrape_configs[0].static_configs, [
    { targets: ['kubernetes-sd.invalid:80'] },
    { targets: ['kubernetes-sd.invalid:80'] },
  ]);
  assert.equal(parsed.scrape_configs[0].relabel_configs, []);
});

test('monitoring: a missing tool is a recorded skip in development and an error in production', async () => {
  const { root } = copySection('monitoring');
  const bin = tempDir('path');
  symlinkSync(process.execPath, join(bin, 'node'));
  const saved = process.env.PATH;
  process.env.PATH = bin;
  resetToolCache();
  try {
    const dev = await packAndValidate('monitoring', root, 'development');
    const skips = dev.findings.filter((f) => f.severity === 'skip');
    assert.ok(
      skips.some((s) => /promtool is not installed/.test(s.message)),
      show(dev.findings),
    );
    assert.ok(
      skips.some((s) => /amtool is not installed/.test(s.message)),
      show(dev.findings),
    );
    assert.ok(dev.passed);
    const prod = await packAndValidate('monitoring', root, 'production');
    expectFinding(prod.findings, 'tool/missing', 'monitoring', undefined, /promtool/);
    assert.not.ok(prod.passed);
  } finally {
    process.env.PATH = saved;
    resetToolCache();
  }
});

test('config: drift, placeholders, real-looking secrets, nginx -t and promtool', async () => {
  const { root, src } = copySection('config');
  const staging = join(src, 'src/staging/.env.template');
  edit(staging, /\nLOG_FORMAT=[^\n]*/, '');
  const production = join(src, 'src/production/.env.template');
  edit(production, 'JWT_SECRET=<GENERATE_32_CHAR_SECRET>', 'JWT_SECRET=hunter2hunter2');
  const development = join(src, 'src/development/.env.template');
  edit(development, 'spacetime:<DATABASE_PASSWORD>@', 'spacetime:s3cr3t-pw@');
  const nginx = join(src, 'src/production/nginx.conf');
  edit(nginx, '    server_tokens off;', '    server_tokens off;\n    frobnicate on;');
  const aws = 'AKIA' + 'Q3EGRJ6Z7X2HKLMB';
  edit(nginx, '    sendfile on;', `    # ${aws}\n    sendfile on;`);
  writeFileSync(join(src, 'src/production/tls.key'), '-----BEGIN ' + 'PRIVATE KEY-----\nMIIBVQ==\n-----END PRIVATE KEY-----\n');
  const prometheus = join(src, 'src/production/prometheus.yml');
  edit(prometheus, '  evaluation_interval: 15s', '  evaluation_interval: soon');
  const report = await packAndValidate('config', root);
  const found = errors(report);
  expectFinding(found, 'config/env-drift', 'config/staging/.env.template', undefined, /^staging lacks LOG_FORMAT \(defined in/);
  expectFinding(found, 'config/secret-placeholder', 'config/production/.env.template', lineOf(production, 'JWT_SECRET='));
  expectFinding(
    found,
    'config/secret-placeholder',
    'config/development/.env.template',
    lineOf(development, 'DATABASE_URL='),
    /inside its URL/,
  );
  expectFinding(found, 'secrets/credentials-in-url', 'config/development/.env.template', lineOf(development, 'DATABASE_URL='));
  expectFinding(found, 'nginx/config', 'config/production/nginx.conf', lineOf(nginx, 'frobnicate'), /unknown directive/);
  expectFinding(found, 'secrets/cloud-key', 'config/production/nginx.conf', lineOf(nginx, aws));
  expectFinding(found, 'secrets/private-key', 'config/production/tls.key', 1);
  expectFinding(found, 'promtool/config', 'config/production/prometheus.yml', lineOf(prometheus, 'evaluation_interval: soon'), /soon/);
  assert.not.ok(
    found.some((f) => f.message.includes('TLS_KEY_PATH')),
    'a _PATH key holds a path, not a secret',
  );
  const json = readFileSync(join(root, 'dist/validation/config/report.json'), 'utf8');
  for (const secret of ['hunter2hunter2', 's3cr3t-pw', aws]) assert.not.ok(json.includes(secret), `the report shows the value ${secret}`);
});

test('scripts: bash -n, shellcheck, the executable bit and migration numbering', async () => {
  const { root, src } = copySection('scripts');
  const deploy = join(src, 'src/deployment/deploy.sh');
  edit(deploy, /\n$/, '\nif true; then\n  echo unterminated\n');
  const backup = join(src, 'src/maintenance/backup.sh');
  edit(backup, /\n$/, '\nunquoted_target=$1\nls $unquoted_target\n');
  writeFileSync(join(src, 'src/maintenance/report.py'), '#!/usr/bin/env python3\nprint("hi")\n', { mode: 0o644 });
  chmodSync(join(src, 'src/maintenance/report.py'), 0o644);
  const sql = join(src, 'src/migration/sql');
  renameSync(join(sql, '003_create_inventory_and_player_state.sql'), join(sql, '004_create_inventory_and_player_state.sql'));
  copyFileSync(join(sql, '002_create_server_shards_and_game_sessions.sql'), join(sql, '002_duplicate.sql'));
  const report = await packAndValidate('scripts', root);
  const found = errors(report);
  expectFinding(found, 'bash/syntax', 'scripts/deployment/deploy.sh', lineOf(deploy, 'echo unterminated') + 1);
  expectFinding(found, 'shellcheck/SC2086', 'scripts/maintenance/backup.sh', lineOf(backup, 'ls $unquoted_target'));
  expectFinding(found, 'scripts/executable', 'scripts/maintenance/report.py', 1);
  expectFinding(found, 'migrations/gap', 'scripts/migration/sql', undefined, /003 is missing/);
  expectFinding(found, 'migrations/duplicate', 'scripts/migration/sql/002_duplicate.sql');
});

test('docs: required documents, links, anchors and the version', async () => {
  const { root, src } = copySection('docs');
  unlinkSync(join(src, 'src/security/SECURITY_GUIDE.md'));
  const readme = join(src, 'src/README.md');
  edit(readme, '](deployment/DEPLOYMENT_GUIDE.md#verify-the-release-package)', '](deployment/DEPLOYMENT_GUIDE.md#no-such-heading)');
  edit(readme, '](operations/INCIDENT_RESPONSE.md)', '](operations/INCIDENT_RESPONSES.md)');
  const runbook = join(src, 'src/operations/OPERATIONS_RUNBOOK.md');
  edit(runbook, '**Release:** {{version}}', '**Release:** 2.4.9');
  const report = await packAndValidate('docs', root);
  const found = errors(report);
  expectFinding(found, 'docs/required', 'docs/security/SECURITY_GUIDE.md');
  expectFinding(found, 'docs/anchor', 'docs/README.md', lineOf(readme, '#no-such-heading'));
  expectFinding(found, 'docs/link', 'docs/README.md', lineOf(readme, 'INCIDENT_RESPONSES.md'));
  expectFinding(found, 'docs/link', 'docs/README.md', lineOf(readme, '](security/SECURITY_GUIDE.md)'));
  expectFinding(
    found,
    'docs/version',
    'docs/operations/OPERATIONS_RUNBOOK.md',
    lineOf(runbook, '**Release:** 2.4.9'),
    new RegExp(`2\\.4\\.9, but VERSION is ${VERSION.replace(/\./g, '\\.')}`),
  );
});

test('security: certificates parse, and one expiring within 30 days fails', async () => {
  const { root, src } = copySection('security');
  const certs = join(src, 'src/certificates');
  const make = (name: string, days: number) =>
    tool('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      String(days),
      '-subj',
      `/CN=${name}.spacetime-vr.invalid`,
      '-keyout',
      '/dev/null',
      '-out',
      join(certs, `${name}.crt`),
    ]);
  make('long-lived', 400);
  make('expiring', 10);
  writeFileSync(join(certs, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
  const report = await packAndValidate('security', root);
  const found = errors(report);
  expectFinding(found, 'certificates/expiry', 'security/certificates/expiring.crt', 1, /expires within 30 days/);
  expectFinding(found, 'certificates/parse', 'security/certificates/broken.pem', 1);
  assert.not.ok(
    found.some((f) => f.file.endsWith('long-lived.crt')),
    show(found),
  );
  const later = await packAndValidate('security', root, 'development', new Date(Date.now() + 380 * 86_400_000));
  expectFinding(errors(later), 'certificates/expiry', 'security/certificates/long-lived.crt');
});

test('security: an open critical or high finding in a security report fails, with its table line', async () => {
  const { root, src } = copySection('security');
  const pentest = join(src, 'src/reports/PENETRATION_TEST_RESULTS.md');
  edit(pentest, '| High | 0 | 0 | 0 | 0 |', '| High | 1 | 0 | 1 | 0 |');
  const audit = join(src, 'src/reports/SECURITY_AUDIT_REPORT.md');
  edit(audit, '| Critical | 0 | 0 | 0 | 0 |', '| Critical | 0 | 0 | none | 0 |');
  const report = await packAndValidate('security', root);
  const found = errors(report);
  expectFinding(
    found,
    'security/open-findings',
    'security/reports/PENETRATION_TEST_RESULTS.md',
    lineOf(pentest, '| High | 1 |'),
    /1 High finding is open/,
  );
  expectFinding(found, 'security/report-table', 'security/reports/SECURITY_AUDIT_REPORT.md', lineOf(audit, '| Critical | 0 | 0 | none'));
  const note = report.findings.find((f) => f.severity === 'note' && f.file === 'security/reports/VULNERABILITY_ASSESSMENT.md');
  assert.match(note?.message ?? '', 'Critical open: 0');
});

test('the remaining rules: duplicate keys, tokens, random values, broken YAML and JSON, names, shebangs, overlays', async () => {
  const config = copySection('config');
  const staging = join(config.src, 'src/staging/.env.template');
  edit(staging, /\nLOG_LEVEL=info/, '\nLOG_LEVEL=info\nLOG_LEVEL=debug');
  const github = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
  writeFileSync(
    join(config.src, 'src/staging/notes.txt'),
    `deploy token: ${github}\nmatchmaker api_key: q8Zr2Lx9Vb4Nw7Kp3Tf6Hy1Jc5Md0Gs\n`,
  );
  const configFound = errors(await packAndValidate('config', config.root));
  expectFinding(
    configFound,
    'config/duplicate-key',
    'config/staging/.env.template',
    lineOf(staging, 'LOG_LEVEL=debug'),
    /LOG_LEVEL is defined twice/,
  );
  expectFinding(
    configFound,
    'secrets/high-entropy',
    'config/staging/notes.txt',
    2,
    /api_key holds a random-looking value \(value not shown\)/,
  );
  expectFinding(configFound, 'secrets/token', 'config/staging/notes.txt', 1, /GitHub token/);
  for (const value of [github, 'q8Zr2Lx9Vb4Nw7Kp3Tf6Hy1Jc5Md0Gs']) assert.not.match(JSON.stringify(configFound), value);

  const kubernetes = copySection('kubernetes');
  const service = join(kubernetes.src, 'src/base/service.yaml');
  edit(service, /\n$/, '\n  broken: [unclosed\n');
  renameSync(join(kubernetes.src, 'src/overlays/production'), join(kubernetes.src, 'src/overlays/prod'));
  const k8sFound = errors(await packAndValidate('kubernetes', kubernetes.root));
  expectFinding(k8sFound, 'k8s/yaml', 'kubernetes/base/service.yaml');
  expectFinding(k8sFound, 'k8s/overlay', 'kubernetes/overlays', undefined, /no production overlay/);

  const monitoring = copySection('monitoring');
  const dashboard = join(monitoring.src, 'src/grafana/dashboards/vr-performance.json');
  edit(dashboard, /\}\s*$/, '},\n');
  expectFinding(
    errors(await packAndValidate('monitoring', monitoring.root)),
    'grafana/json',
    'monitoring/grafana/dashboards/vr-performance.json',
    undefined,
    /not valid JSON/,
  );

  const scripts = copySection('scripts');
  writeFileSync(join(scripts.src, 'src/migration/sql/004_Add Scores.sql'), 'SELECT 1;\n');
  writeFileSync(join(scripts.src, 'src/maintenance/no_shebang.sh'), 'echo hi\n', { mode: 0o755 });
  const scriptsFound = errors(await packAndValidate('scripts', scripts.root));
  expectFinding(scriptsFound, 'migrations/name', 'scripts/migration/sql/004_Add Scores.sql');
  expectFinding(scriptsFound, 'scripts/shebang', 'scripts/maintenance/no_shebang.sh', 1);
});

test("markdownAnchors: GitHub's heading anchors, repeated ones suffixed -1, -2, code blocks skipped", () => {
  const text = [
    '# SpaceTime VR Operations Runbook',
    '## Drain a Server Pod',
    "### What's new in `v1.2.0`?",
    '### Foo & Bar',
    '### snake_case and Über Café',
    '### [Linked](other.md#x) heading ###',
    '### Foo 1',
    '### Foo',
    '### Foo',
    '```bash',
    '# not a heading',
    '```',
    '<a id="custom-place"></a>',
    '### Foo',
  ].join('\n');
  assert.equal([...markdownAnchors(text)].sort(), [
    'custom-place',
    'drain-a-server-pod',
    'foo',
    'foo--bar',
    'foo-1',
    'foo-2',
    'foo-3',
    'linked-heading',
    'snake_case-and-über-café',
    'spacetime-vr-operations-runbook',
    'whats-new-in-v120',
  ]);
});

test('checkTools: each tool found, missing or too old against its minimum, with how to install it', async () => {
  const bin = tempDir('doctor-path');
  writeFileSync(join(bin, 'shellcheck'), '#!/bin/sh\necho "ShellCheck - shell script analysis tool"\necho "version: 0.6.0"\n');
  chmodSync(join(bin, 'shellcheck'), 0o755);
  writeFileSync(join(bin, 'promtool'), '#!/bin/sh\necho "promtool, version 2.42.0 (branch: x)"\n');
  chmodSync(join(bin, 'promtool'), 0o755);
  mkdirSync(join(bin, 'empty'));
  const saved = process.env.PATH;
  process.env.PATH = bin;
  resetToolCache();
  try {
    const reports = await checkTools(['shellcheck', 'promtool', 'helm']);
    assert.equal(
      reports.map((r) => [r.name, r.status, r.found ?? null]),
      [
        ['shellcheck', 'too old', '0.6.0'],
        ['promtool', 'found', '2.42.0'],
        ['helm', 'missing', null],
      ],
    );
    assert.match(reports[2].install, /helm/i);
  } finally {
    process.env.PATH = saved;
    resetToolCache();
  }
  assert.is(compareVersions('4.5.1', '4.5.1'), 0);
  assert.is(compareVersions('4.10.0', '4.5.1'), 1);
  assert.is(compareVersions('3.8', '3.8.0'), 0);
});

test('secret scan: a private key block, also inside a JSON string, but not code that writes the armor marker', () => {
  const privateKey = SECRET_PATTERNS.find((p) => p.rule === 'secrets/private-key')!.pattern;
  const marker = '-----BEGIN ' + 'PGP PRIVATE KEY BLOCK-----';
  assert.ok(privateKey.test(marker));
  assert.ok(privateKey.test(`  "signingKey": "${marker}\\n\\nxcLYBGd..."`));
  assert.not.ok(privateKey.test(`      result.push("${marker}\\n");`), 'the OpenPGP library bundled into verify_release.mjs');
});

test.run();
