import { cpSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { packSection } from '../src/section/packer';
import { resolveSectionSources } from '../src/section/sources';
import type { Finding } from '../src/validation/findings';
import { cleanTempDirs, tempDir } from './helpers';
import { edit, lineOf, packAndValidate, show, VERSION } from './validation-helpers';

// The monitoring set is the one source: config/production/ ships copies of it, and the
// monitoring validation (real promtool and amtool, then the copy check) fails when they part.

test.after(cleanTempDirs);

const WORKSPACE = join(__dirname, '..', '..', '..');

/** A workspace copy holding the monitoring, config and docs sections, the docs one packaged. */
async function sections(): Promise<{ root: string; monitoring: string; config: string; docs: string }> {
  const root = tempDir('single-source');
  for (const s of ['monitoring', 'config', 'docs'])
    cpSync(join(WORKSPACE, 'libs/sections', s), join(root, 'libs/sections', s), { recursive: true });
  await pack(root, 'docs');
  const src = (s: string) => join(root, 'libs/sections', s, 'src');
  return { root, monitoring: src('monitoring'), config: src('config'), docs: src('docs') };
}

/** Packages a section of the copy as its package target does. */
async function pack(root: string, section: string): Promise<void> {
  const projectRoot = `libs/sections/${section}`;
  const options = JSON.parse(readFileSync(join(root, projectRoot, 'project.json'), 'utf8')).targets.package.options;
  const sources = resolveSectionSources({
    workspaceRoot: root,
    projectRoot,
    version: VERSION,
    sources: options.sources,
    generate: options.generate,
  });
  const outputDir = join(root, 'dist/sections', section);
  await packSection({ workspaceRoot: root, section, version: VERSION, sources, skipped: [], outputDir, mtime: 315532800 });
}

const packConfig = (root: string) => pack(root, 'config');

const copyFindings = (findings: Finding[]) => findings.filter((f) => f.rule === 'monitoring/copy');

test('the shipped config/production/ is an exact copy of the monitoring set, and both pass promtool and amtool', async () => {
  const { root } = await sections();
  await packConfig(root);
  const report = await packAndValidate('monitoring', root);
  assert.equal(
    report.findings.filter((f) => f.severity !== 'note'),
    [],
    show(report.findings),
  );
  assert.ok(report.checks.includes('config/ copies of the monitoring set'), report.checks.join('; '));
  assert.ok(report.checks.includes('alert runbook links into docs/'), report.checks.join('; '));
  const config = await packAndValidate('config', root);
  assert.equal(
    config.findings.filter((f) => f.severity === 'error'),
    [],
    show(config.findings),
  );
  assert.ok(config.checks.includes('amtool check-config config/production/alertmanager.yml'), config.checks.join('; '));
});

test('a copy that parts from its source fails at its first differing line, with the command that mends it', async () => {
  const { root, config } = await sections();
  const copy = join(config, 'production/prometheus.yml');
  edit(
    copy,
    '  scrape_interval: 15s\n  scrape_timeout: 10s\n  evaluation_interval',
    '  scrape_interval: 30s\n  scrape_timeout: 10s\n  evaluation_interval',
  );
  await packConfig(root);
  const found = copyFindings((await packAndValidate('monitoring', root)).findings);
  assert.is(found.length, 1, show(found));
  assert.is(found[0].severity, 'error');
  assert.is(found[0].file, 'config/production/prometheus.yml');
  assert.is(found[0].line, lineOf(copy, 'scrape_interval: 30s'));
  assert.match(found[0].message, 'differs from monitoring/prometheus/prometheus.yml');
  assert.match(found[0].message, '"scrape_interval: 15s"; here: "scrape_interval: 30s"');
  assert.match(
    found[0].message,
    'cp libs/sections/monitoring/src/prometheus/prometheus.yml libs/sections/config/src/production/prometheus.yml',
  );
});

test('a source edited without its copy, a missing copy, a new rule file and a stray config file each fail', async () => {
  const { root, monitoring, config } = await sections();
  edit(join(monitoring, 'prometheus/alerts.yml'), 'for: 2m', 'for: 5m');
  unlinkSync(join(config, 'production/templates/spacetime.tmpl'));
  writeFileSync(join(monitoring, 'prometheus/rules/capacity.yml'), 'groups: []\n');
  writeFileSync(join(config, 'staging/prometheus.yml'), readFileSync(join(config, 'production/prometheus.yml')));
  writeFileSync(join(config, 'production/alert_rules.yml'), 'groups: []\n');
  await packConfig(root);
  const found = copyFindings((await packAndValidate('monitoring', root)).findings);
  const at = (file: string, message: string) =>
    assert.ok(
      found.some((f) => f.file === file && f.message.includes(message)),
      `expected ${file}: ${message}; got:\n${show(found)}`,
    );
  at('config/production/alerts.yml', 'differs from monitoring/prometheus/alerts.yml');
  assert.is(found.find((f) => f.file === 'config/production/alerts.yml')!.line, lineOf(join(config, 'production/alerts.yml'), 'for: 2m'));
  at('config/production/templates/spacetime.tmpl', 'is missing: it must be a copy of monitoring/alertmanager/templates/spacetime.tmpl');
  at('config/production/rules/capacity.yml', 'is missing: it must be a copy of monitoring/prometheus/rules/capacity.yml');
  at('config/staging/prometheus.yml', 'copies no file of monitoring/');
  at('config/production/alert_rules.yml', 'copies no file of monitoring/');
  assert.is(found.length, 5, show(found));
});

test('without the config package the comparison is a recorded skip in development and an error in production', async () => {
  const { root } = await sections();
  rmSync(join(root, 'dist/sections/config'), { recursive: true, force: true });
  const dev = await packAndValidate('monitoring', root);
  const skip = copyFindings(dev.findings);
  assert.is(skip.length, 1, show(dev.findings));
  assert.is(skip[0].severity, 'skip');
  assert.match(skip[0].message, 'the config section is not packaged (run `nx run config:package`)');
  assert.ok(dev.passed);
  const prod = await packAndValidate('monitoring', root, 'production');
  assert.ok(
    copyFindings(prod.findings).some((f) => f.severity === 'error'),
    show(prod.findings),
  );
  assert.not.ok(prod.passed);
});

const runbookFindings = (findings: Finding[]) => findings.filter((f) => f.rule === 'monitoring/runbook-link');

test("every alert's runbook_url names a heading of the packaged runbook: a broken anchor fails at its line", async () => {
  const { root, monitoring, docs } = await sections();
  const alerts = join(monitoring, 'prometheus/alerts.yml');
  edit(alerts, 'OPERATIONS_RUNBOOK.md#redisdown', 'OPERATIONS_RUNBOOK.md#redis-down');
  // The heading renamed in the runbook, not in the alert: the docs package is what is read.
  const runbook = join(docs, 'operations/OPERATIONS_RUNBOOK.md');
  edit(runbook, '### PostgresDown\n', '### Postgres: Down (primary)\n');
  // A second heading of the same text is #...-1 (GitHub's anchors); there is no -2.
  edit(runbook, /\n$/, '\n\n### SpaceTimeHighErrorRate\n\nThe same alert, once more.\n');
  const rules = join(monitoring, 'prometheus/rules/runbooks.yml');
  const rule = (name: string, url: string) =>
    `      - alert: ${name}\n        expr: vector(1)\n        labels:\n          severity: info\n` +
    `        annotations:\n          summary: "x"\n          runbook_url: "${url}"\n`;
  writeFileSync(
    rules,
    'groups:\n  - name: runbooks\n    rules:\n' +
      rule('SecondHeading', 'docs/operations/OPERATIONS_RUNBOOK.md#spacetimehigherrorrate-1') +
      rule('ThirdHeading', 'docs/operations/OPERATIONS_RUNBOOK.md#spacetimehigherrorrate-2') +
      rule('RenamedHeading', 'docs/operations/OPERATIONS_RUNBOOK.md#postgres-down-primary') +
      rule('NoSuchDocument', 'docs/operations/CAPACITY_RUNBOOK.md#capacity') +
      rule('ElsewhereOnTheWeb', 'https://runbooks.example.invalid/spacetime#x'),
  );
  await pack(root, 'docs');
  const report = await packAndValidate('monitoring', root);
  const found = runbookFindings(report.findings);
  const alertsFile = 'monitoring/prometheus/alerts.yml';
  const rulesFile = 'monitoring/prometheus/rules/runbooks.yml';
  assert.equal(
    found.map((f) => [f.file, f.line, f.severity]),
    [
      [alertsFile, lineOf(alerts, '#postgresdown'), 'error'],
      [alertsFile, lineOf(alerts, '#redis-down'), 'error'],
      [rulesFile, lineOf(rules, '#spacetimehigherrorrate-2'), 'error'],
      [rulesFile, lineOf(rules, 'CAPACITY_RUNBOOK.md'), 'error'],
      [rulesFile, lineOf(rules, 'https://'), 'note'],
    ],
    show(found),
  );
  const [postgres, redis, third, missing, web] = found.map((f) => f.message);
  assert.is(
    postgres,
    'runbook_url of PostgresDown (docs/operations/OPERATIONS_RUNBOOK.md#postgresdown): ' +
      'docs/operations/OPERATIONS_RUNBOOK.md has no heading with the anchor #postgresdown',
  );
  assert.match(redis, 'has no heading with the anchor #redis-down (its heading RedisDown has the anchor #redisdown)');
  assert.match(third, '#spacetimehigherrorrate-2');
  assert.match(missing, 'the docs section ships no docs/operations/CAPACITY_RUNBOOK.md');
  assert.match(web, 'is not a path into docs/: not checked');
  assert.not.ok(report.passed);
});

test('without the docs package the runbook links are a recorded skip in development and an error in production', async () => {
  const { root } = await sections();
  await packConfig(root);
  rmSync(join(root, 'dist/sections/docs'), { recursive: true, force: true });
  const dev = await packAndValidate('monitoring', root);
  const skip = runbookFindings(dev.findings);
  assert.equal(
    skip.map((f) => [f.file, f.severity]),
    [['monitoring', 'skip']],
    show(dev.findings),
  );
  assert.match(skip[0].message, 'alert runbook links not checked: the docs section is not packaged (run `nx run docs:package`)');
  assert.ok(dev.passed, show(dev.findings));
  const prod = runbookFindings((await packAndValidate('monitoring', root, 'production')).findings);
  assert.equal(
    prod.map((f) => [f.file, f.severity]),
    [['monitoring', 'error']],
    show(prod),
  );
});

test('receivers read their secrets from files at absolute paths: inline secrets and relative paths fail with their line', async () => {
  const { root, monitoring, config } = await sections();
  const file = join(monitoring, 'alertmanager/config.yml');
  edit(
    file,
    '      - routing_key_file: /etc/alertmanager/secrets/alertmanager-receivers/pagerduty-routing-key',
    '      - routing_key: "<PAGERDUTY_ROUTING_KEY>"',
  );
  edit(
    file,
    'api_url_file: /etc/alertmanager/secrets/alertmanager-receivers/slack-info-webhook-url',
    'api_url_file: secrets/slack-info-webhook-url',
  );
  edit(file, 'global:\n', 'global:\n  slack_api_url: "https://hooks.example.invalid/x"\n');
  // An http_config path is resolved against the configuration's folder: relative is fine there.
  edit(
    file,
    '        send_resolved: false\n',
    '        send_resolved: false\n        http_config:\n          authorization:\n            credentials_file: slack-token\n',
  );
  cpSync(file, join(config, 'production/alertmanager.yml'));
  await packConfig(root);
  const found = (await packAndValidate('monitoring', root)).findings.filter((f) => f.rule === 'alertmanager/secret-file');
  const line = (needle: string) => lineOf(file, needle);
  assert.equal(
    found.map((f) => [f.file, f.line, f.severity]),
    [
      ['monitoring/alertmanager/config.yml', line('slack_api_url:'), 'error'],
      ['monitoring/alertmanager/config.yml', line('routing_key: "<PAGERDUTY'), 'error'],
      ['monitoring/alertmanager/config.yml', line('api_url_file: secrets/'), 'error'],
    ],
    show(found),
  );
  assert.match(found[1].message, 'pagerduty_configs.routing_key holds its secret in the file: use routing_key_file');
  assert.match(found[2].message, '"secrets/slack-info-webhook-url" is relative');
  // The config section checks its copy with the same rule.
  const copy = (await packAndValidate('config', root)).findings.filter((f) => f.rule === 'alertmanager/secret-file');
  assert.equal(
    copy.map((f) => f.file),
    ['config/production/alertmanager.yml', 'config/production/alertmanager.yml', 'config/production/alertmanager.yml'],
  );
});

test.run();
