import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { cleanTempDirs, tempDir, tool } from './helpers';

// Paging pages: the shipped Alertmanager configuration routes with the real amtool, the shipped
// scripts/deployment/setup_monitoring.sh turns the deployment's secrets into the Secret
// alertmanager-receivers, and the real Alertmanager (Debian's 0.25) reads the routing key and the
// webhook URLs from those files and delivers to PagerDuty's Events API v2 and to Slack, both
// played by a local HTTP server. There is no cluster here: `kubectl apply` is recorded instead
// (every other kubectl call is the real kubectl, which builds the objects offline). The delivery
// run shortens group_wait and points pagerduty_url at the local server; nothing else changes.

test.after(cleanTempDirs);

const SECTIONS = join(__dirname, '..', '..', 'sections');
const CONFIG = join(SECTIONS, 'monitoring/src/alertmanager/config.yml');
const SECRETS_DIR = '/etc/alertmanager/secrets/alertmanager-receivers';
const ROUTING_KEY = 'R0utingKeyFromTheSecret0000000001';

const route = (...labels: string[]) =>
  tool('amtool', ['config', 'routes', 'test', `--config.file=${CONFIG}`, ...labels])
    .trim()
    .split('\n')
    .pop();

test('amtool routes critical production alerts to PagerDuty and Slack, every other environment to Slack only', () => {
  assert.is(route('severity=critical', 'environment=production', 'alertname=SpaceTimeServerDown'), 'pagerduty-critical,slack-critical');
  assert.is(route('severity=critical', 'environment=staging', 'alertname=SpaceTimeServerDown'), 'slack-critical');
  assert.is(route('severity=critical', 'environment=qa', 'alertname=SpaceTimeServerDown'), 'slack-critical');
  assert.is(route('severity=warning', 'environment=production'), 'slack-warning');
  assert.is(route('severity=info', 'environment=production'), 'slack-info');
  assert.is(route('alertname=Watchdog', 'severity=none'), 'watchdog');
  const receivers: Array<Record<string, any>> = parse(readFileSync(CONFIG, 'utf8')).receivers;
  const pagerduty = receivers.find((r) => r.name === 'pagerduty-critical')!;
  assert.equal(Object.keys(pagerduty), ['name', 'pagerduty_configs'], 'PagerDuty is a pagerduty_configs receiver, no generic webhook');
  assert.is(pagerduty.pagerduty_configs[0].routing_key_file, `${SECRETS_DIR}/pagerduty-routing-key`);
  for (const r of receivers.filter((r) => r.slack_configs)) assert.match(r.slack_configs[0].api_url_file, `${SECRETS_DIR}/slack-`);
  assert.not.match(readFileSync(CONFIG, 'utf8').replace(/#.*$/gm, ''), /<[A-Z_]+>/, 'a placeholder is left');
});

/** A release-package-like folder with the shipped scripts and monitoring set, and a kubectl whose `apply` is recorded. */
function packageWithRecordingKubectl(): { root: string; env: NodeJS.ProcessEnv; applied: string } {
  const root = tempDir('package');
  cpSync(join(SECTIONS, 'scripts/src'), join(root, 'scripts'), { recursive: true });
  cpSync(join(SECTIONS, 'monitoring/src'), join(root, 'monitoring'), { recursive: true });
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const applied = join(root, 'applied.yaml');
  const kubectl = spawnSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(
    join(bin, 'kubectl'),
    `#!/bin/bash
# No cluster: apply is recorded; the rest is the real kubectl.
[[ "$*" == "config current-context" ]] && { echo recorded; exit 0; }
if [[ "$1" == apply ]]; then
  while [[ $# -gt 0 && "$1" != -f ]]; do shift; done
  if [[ "$2" == - ]]; then cat; else cat "$2"; fi >> ${JSON.stringify(applied)}
  printf -- '---\\n' >> ${JSON.stringify(applied)}
  exit 0
fi
exec ${JSON.stringify(kubectl)} "$@"
`,
  );
  chmodSync(join(bin, 'kubectl'), 0o755);
  return { root, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, applied };
}

function setup(pkg: { root: string; env: NodeJS.ProcessEnv }, env: Record<string, string>, ...args: string[]) {
  const run = spawnSync('bash', ['scripts/deployment/setup_monitoring.sh', '--skip-validation', ...args], {
    cwd: pkg.root,
    env: { ...pkg.env, ...env },
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test('setup_monitoring.sh refuses missing or malformed receiver secrets, naming the variable and never the value', () => {
  const pkg = packageWithRecordingKubectl();
  const missing = setup(pkg, { SLACK_WEBHOOK_URL: 'https://hooks.example.invalid/T0/B0/x' });
  assert.is(missing.status, 1, missing.output);
  assert.match(missing.output, 'receiver secrets not set: PAGERDUTY_ROUTING_KEY');
  assert.not.ok(existsSync(pkg.applied), 'something was applied');
  const both = setup(pkg, {
    PAGERDUTY_ROUTING_KEY: ROUTING_KEY,
    PAGERDUTY_ROUTING_KEY_FILE: '/dev/null',
    SLACK_WEBHOOK_URL: 'https://x.invalid/',
  });
  assert.match(both.output, 'set PAGERDUTY_ROUTING_KEY or PAGERDUTY_ROUTING_KEY_FILE, not both');
  const bad = setup(pkg, { PAGERDUTY_ROUTING_KEY: ROUTING_KEY, SLACK_WEBHOOK_URL: 'hooks.slack.invalid/s3cr3t-path' });
  assert.is(bad.status, 1);
  assert.match(bad.output, 'SLACK_WEBHOOK_URL is not an http(s) URL (value not shown)');
  const unreadable = setup(pkg, { PAGERDUTY_ROUTING_KEY_FILE: join(pkg.root, 'nope'), SLACK_WEBHOOK_URL: 'https://x.invalid/' });
  assert.match(unreadable.output, `PAGERDUTY_ROUTING_KEY_FILE: cannot read ${join(pkg.root, 'nope')}`);
  for (const output of [missing.output, both.output, bad.output, unreadable.output]) {
    assert.not.match(output, ROUTING_KEY);
    assert.not.match(output, 's3cr3t-path');
  }
  assert.not.ok(existsSync(pkg.applied), 'something was applied');
});

interface Received {
  path: string;
  body: Record<string, any>;
}

function receiver(): Promise<{ server: Server; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body || '{}') });
      res.writeHead(req.url?.startsWith('/pagerduty') ? 202 : 200, { 'content-type': 'application/json' });
      res.end('{"status":"success"}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, received })),
  );
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

async function until<T>(what: string, seconds: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what} within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The real Alertmanager on `config` (written to `dir` beside the shipped templates), listening on a free port. */
async function startAlertmanager(dir: string, config: string): Promise<{ url: string; log: () => string; stop: () => void }> {
  cpSync(join(SECTIONS, 'monitoring/src/alertmanager/templates'), join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'alertmanager.yml'), config);
  tool('amtool', ['check-config', join(dir, 'alertmanager.yml')]);
  const web = await freePort();
  const alertmanager: ChildProcess = spawn(
    'prometheus-alertmanager',
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${web}`,
      '--cluster.listen-address=',
    ],
    { cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  alertmanager.stderr!.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${web}`;
  const stop = () => void alertmanager.kill('SIGTERM');
  try {
    await until(`Alertmanager listening (log: ${log.slice(-300)})`, 15, () =>
      spawnSync('amtool', ['config', 'show', `--alertmanager.url=${url}`]).status === 0 ? true : undefined,
    );
  } catch (e) {
    stop();
    throw e;
  }
  return { url, log: () => log, stop };
}

test('the real Alertmanager pages PagerDuty with the routing key from the Secret the script made, and posts to Slack', async () => {
  const { server, port, received } = await receiver();
  const pkg = packageWithRecordingKubectl();
  const keyFile = join(pkg.root, 'pagerduty.key');
  writeFileSync(keyFile, `${ROUTING_KEY}\n`);
  const made = setup(pkg, {
    PAGERDUTY_ROUTING_KEY_FILE: keyFile,
    SLACK_WEBHOOK_URL: `http://127.0.0.1:${port}/slack/alerts-hook`,
    SLACK_INFO_WEBHOOK_URL: `http://127.0.0.1:${port}/slack/info-hook`,
  });
  assert.is(made.status, 0, made.output);
  assert.match(made.output, 'Secret alertmanager-receivers: 3 receiver secret file(s)');
  assert.not.match(made.output, ROUTING_KEY);
  assert.not.match(made.output, 'alerts-hook');

  // What a pod that mounts the Secret at SECRETS_DIR sees: one file per key.
  const objects = parseAllDocuments(readFileSync(pkg.applied, 'utf8'))
    .map((d) => d.toJS())
    .filter(Boolean);
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'alertmanager-receivers');
  assert.equal(Object.keys(secret.data).sort(), ['pagerduty-routing-key', 'slack-info-webhook-url', 'slack-webhook-url']);
  assert.is(secret.metadata.namespace, 'monitoring');
  const secrets = tempDir('mounted-secret');
  for (const [key, value] of Object.entries<string>(secret.data)) writeFileSync(join(secrets, key), Buffer.from(value, 'base64'));
  assert.is(readFileSync(join(secrets, 'pagerduty-routing-key'), 'utf8'), ROUTING_KEY);

  const config = readFileSync(CONFIG, 'utf8')
    .split(SECRETS_DIR)
    .join(secrets)
    .replace('global:\n', `global:\n  pagerduty_url: http://127.0.0.1:${port}/pagerduty/v2/enqueue\n`)
    .replace(/group_wait: \d+s/g, 'group_wait: 0s');
  let alertmanager;
  try {
    alertmanager = await startAlertmanager(tempDir('alertmanager'), config);
  } catch (e) {
    server.close();
    throw e;
  }
  const log = alertmanager.log;
  try {
    const alert = (...labels: string[]) =>
      tool('amtool', ['alert', 'add', ...labels, '--annotation=summary=Game server down', `--alertmanager.url=${alertmanager.url}`]);
    alert('alertname=SpaceTimeServerDown', 'severity=critical', 'environment=production', 'namespace=spacetime-vr', 'pod=spacetime-vr-0');
    alert(
      'alertname=SpaceTimeServerDown',
      'severity=critical',
      'environment=staging',
      'namespace=spacetime-vr-staging',
      'pod=spacetime-vr-0',
    );
    alert('alertname=SpaceTimeServerFull', 'severity=info', 'environment=production', 'namespace=spacetime-vr', 'pod=spacetime-vr-1');
    await until(`four notifications (got ${received.map((r) => r.path).join(', ')}; log: ${log().slice(-600)})`, 20, () =>
      received.length >= 4 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 500));
    const pages = received.filter((r) => r.path === '/pagerduty/v2/enqueue');
    assert.is(pages.length, 1, JSON.stringify(received.map((r) => r.path)));
    assert.is(pages[0].body.routing_key, ROUTING_KEY);
    assert.is(pages[0].body.event_action, 'trigger');
    assert.is(pages[0].body.payload.summary, '[production] SpaceTimeServerDown: Game server down');
    const slack = received.filter((r) => r.path === '/slack/alerts-hook');
    assert.equal(
      slack.map((r) => r.body.channel),
      ['#spacetime-vr-alerts', '#spacetime-vr-alerts'],
    );
    assert.equal(slack.map((r) => r.body.attachments[0].title).sort(), [
      '[FIRING:1] [production] SpaceTimeServerDown (spacetime-vr)',
      '[FIRING:1] [staging] SpaceTimeServerDown (spacetime-vr-staging)',
    ]);
    assert.equal(
      received.filter((r) => r.path === '/slack/info-hook').map((r) => r.body.channel),
      ['#spacetime-vr-info'],
    );
  } finally {
    alertmanager.stop();
    server.close();
  }
});

test('a total outage of an environment mutes its other alerts, but not PostgresDown, RedisDown or NodeDiskAlmostFull', async () => {
  // Receivers that cannot be reached: nothing is delivered before the test ends (group_wait).
  const secrets = tempDir('inhibition-secrets');
  writeFileSync(join(secrets, 'pagerduty-routing-key'), ROUTING_KEY);
  for (const key of ['slack-webhook-url', 'slack-info-webhook-url']) writeFileSync(join(secrets, key), 'http://127.0.0.1:9/');
  const config = readFileSync(CONFIG, 'utf8')
    .split(SECRETS_DIR)
    .join(secrets)
    .replace('global:\n', 'global:\n  pagerduty_url: http://127.0.0.1:9/\n');
  const alertmanager = await startAlertmanager(tempDir('alertmanager-inhibition'), config);
  try {
    const fire = (...labels: string[]) =>
      tool('amtool', ['alert', 'add', ...labels, '--annotation=summary=x', `--alertmanager.url=${alertmanager.url}`]);
    const production = ['environment=production', 'namespace=spacetime-vr'];
    fire('alertname=SpaceTimeAllServersDown', 'severity=critical', ...production);
    fire('alertname=SpaceTimeServerDown', 'severity=critical', ...production, 'pod=spacetime-vr-0');
    fire('alertname=SpaceTimeHighLatency', 'severity=warning', ...production);
    fire('alertname=PostgresDown', 'severity=critical', ...production);
    fire('alertname=RedisDown', 'severity=critical', ...production);
    fire('alertname=NodeDiskAlmostFull', 'severity=warning', 'environment=production', 'node=node-1', 'mountpoint=/');
    fire('alertname=SpaceTimeHighLatency', 'severity=warning', 'environment=staging', 'namespace=spacetime-vr-staging');
    fire('alertname=Watchdog', 'severity=none');
    // The API judges inhibition when asked, from the source alerts the inhibitor has seen.
    const states = await until(`the outage inhibiting (log: ${alertmanager.log().slice(-300)})`, 15, async () => {
      const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as Array<Record<string, any>>;
      const state = Object.fromEntries(
        alerts.map((a) => [`${a.labels.alertname} ${a.labels.environment ?? '-'}`, a.status.inhibitedBy.length ? 'inhibited' : 'active']),
      );
      return alerts.length === 8 && state['SpaceTimeServerDown production'] === 'inhibited' ? state : undefined;
    });
    assert.equal(states, {
      'SpaceTimeAllServersDown production': 'active',
      'SpaceTimeServerDown production': 'inhibited',
      'SpaceTimeHighLatency production': 'inhibited',
      'PostgresDown production': 'active',
      'RedisDown production': 'active',
      'NodeDiskAlmostFull production': 'active',
      'SpaceTimeHighLatency staging': 'active',
      'Watchdog -': 'active',
    });
  } finally {
    alertmanager.stop();
  }
});

test.run();
