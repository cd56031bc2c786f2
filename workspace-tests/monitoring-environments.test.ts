import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { cleanUp, commitAll, copyWorkspace, git, nx, sh, tasksRun, tempDir } from './workspace';

// One monitoring source, every environment scraped: real `nx run monitoring:validate` (promtool,
// amtool, then the comparison with the copies in config/production/), a drift crafted in a copy,
// a new environment from `nx g`, and the real Prometheus (Debian's 2.42) applying the shipped
// relabel rules to the game server pods of every overlay.
//
// Debian's Prometheus has no Kubernetes service discovery and there is no cluster here: each pod
// of a rendered overlay is handed to Prometheus through file_sd_configs with the labels Kubernetes
// discovery gives a pod (`podTargets` below, after Prometheus' discovery/kubernetes/pod.go), and
// the shipped relabel_configs of the spacetime-vr job do the rest. Only the scrape interval is
// shortened.

let ws = '';
test.before(() => {
  ws = copyWorkspace('monitoring');
});

test('nx run monitoring:validate compares config/production/ with the monitoring set, and a crafted drift fails it', () => {
  const ok = nx(ws, ['run', 'monitoring:validate']);
  assert.is(ok.status, 0, ok.output);
  assert.match(ok.output, /config\/ copies of the monitoring set/);
  assert.match(ok.output, /amtool check-config monitoring\/alertmanager\/config\.yml/);
  assert.match(ok.output, /alert runbook links into docs\//);

  const copy = join(ws, 'libs/sections/config/src/production/alerts.yml');
  const original = readFileSync(copy, 'utf8');
  const lines = original.split('\n');
  const line = lines.findIndex((l) => l.includes('for: 2m')) + 1;
  writeFileSync(copy, original.replace('for: 2m', 'for: 5m'));
  commitAll(ws, 'Edit the copy instead of the source');
  // Only the config section changed: a pull request's `nx affected` selects the monitoring
  // validation (config is its implicit dependency), and Nx reruns it (config's package is an input).
  const drift = nx(ws, ['affected', '-t', 'validate', '--base=HEAD~1', '--head=HEAD', '--output-style=static']);
  assert.ok(tasksRun(drift.output).includes('monitoring:validate'), drift.output);
  assert.is.not(drift.status, 0, drift.output);
  assert.match(
    drift.output,
    `ERROR config/production/alerts.yml:${line}: [monitoring/copy] ` +
      `differs from monitoring/prometheus/alerts.yml, which it copies, at line ${line}`,
  );
  assert.match(drift.output, 'cp libs/sections/monitoring/src/prometheus/alerts.yml libs/sections/config/src/production/alerts.yml');
  assert.not.match(drift.output, /\n\s+at \S+ \(/, 'a stack trace instead of a finding');
  writeFileSync(copy, original);
  commitAll(ws, 'Copy the source again');
});

test('a runbook heading renamed in docs/ alone fails monitoring:validate at the alert whose runbook_url it breaks', () => {
  const runbook = join(ws, 'libs/sections/docs/src/operations/OPERATIONS_RUNBOOK.md');
  const original = readFileSync(runbook, 'utf8');
  writeFileSync(runbook, original.replace('### RedisDown\n', '### Redis Down\n'));
  commitAll(ws, 'Rename a runbook heading');
  // Only the docs section changed: nx affected selects the monitoring validation (docs is its
  // implicit dependency), and Nx reruns it (docs' package is an input).
  const run = nx(ws, ['affected', '-t', 'validate', '--base=HEAD~1', '--head=HEAD', '--output-style=static']);
  assert.ok(tasksRun(run.output).includes('monitoring:validate'), run.output);
  assert.is.not(run.status, 0, run.output);
  const alerts = readFileSync(join(ws, 'libs/sections/monitoring/src/prometheus/alerts.yml'), 'utf8').split('\n');
  const line = alerts.findIndex((l) => l.includes('OPERATIONS_RUNBOOK.md#redisdown')) + 1;
  assert.match(
    run.output,
    `ERROR monitoring/prometheus/alerts.yml:${line}: [monitoring/runbook-link] runbook_url of RedisDown ` +
      '(docs/operations/OPERATIONS_RUNBOOK.md#redisdown): docs/operations/OPERATIONS_RUNBOOK.md has no heading with the anchor #redisdown',
  );
  writeFileSync(runbook, original);
  commitAll(ws, 'Restore the runbook heading');
});

/** Prometheus' label name sanitising (strutil.SanitizeLabelName). */
const labelName = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** The file_sd targets Kubernetes pod discovery gives for one running pod of a Deployment. */
function podTargets(deployment: Record<string, any>, pod: string, ip: string) {
  const template = deployment.spec.template;
  const labels: Record<string, string> = {
    __meta_kubernetes_namespace: deployment.metadata.namespace,
    __meta_kubernetes_pod_name: pod,
    __meta_kubernetes_pod_ip: ip,
    __meta_kubernetes_pod_phase: 'Running',
    __meta_kubernetes_pod_ready: 'true',
    __meta_kubernetes_pod_node_name: 'node-1',
  };
  for (const [kind, map] of [
    ['label', template.metadata.labels],
    ['annotation', template.metadata.annotations],
  ] as const) {
    for (const [key, value] of Object.entries<string>(map ?? {})) {
      labels[`__meta_kubernetes_pod_${kind}_${labelName(key)}`] = value;
      labels[`__meta_kubernetes_pod_${kind}present_${labelName(key)}`] = 'true';
    }
  }
  return template.spec.containers.flatMap((c: Record<string, any>) =>
    (c.ports ?? []).map((p: Record<string, any>) => ({
      targets: [`${ip}:${p.containerPort}`],
      labels: {
        ...labels,
        __meta_kubernetes_pod_container_name: c.name,
        __meta_kubernetes_pod_container_port_name: p.name,
        __meta_kubernetes_pod_container_port_number: String(p.containerPort),
        __meta_kubernetes_pod_container_port_protocol: p.protocol ?? 'TCP',
      },
    })),
  );
}

/** A /metrics endpoint on ip:port, as a game server pod has one. */
function metricsServer(ip: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('spacetime_server_fps 90\n');
    });
    server.once('error', (e) => reject(new Error(`cannot serve ${ip}:${port} for the stand-in pod: ${e.message}`)));
    server.listen(port, ip, () => resolve(server));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function poll<T>(what: string, seconds: number, read: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await read();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} within ${seconds} s${last ? ` (${last})` : ''}`);
}

test('an environment added by nx g is scraped by the shipped Prometheus config, labelled, with no edit', async () => {
  const refused = nx(ws, ['g', '@spacetime/generators:environment', 'qa', '--redis-cidrs=10.30.0.0/99']);
  assert.is.not(refused.status, 0, refused.output);
  assert.match(refused.output, '--redisCidrs: "10.30.0.0/99" has a prefix length over 32');
  assert.not.match(refused.output, /\n\s+at \S+ \(/, 'a stack trace instead of a clear message');
  assert.is(git(ws, 'status', '--porcelain'), '', 'the refused run changed the tree');
  const generated = nx(ws, ['g', '@spacetime/generators:environment', 'qa', '--postgresql-cidrs=10.20.0.0/24,10.21.0.0/24']);
  assert.is(generated.status, 0, generated.output);
  assert.match(generated.output, 'Prometheus scrapes its pods as environment="qa"');
  const validated = nx(ws, ['run', 'kubernetes:validate']);
  assert.is(validated.status, 0, validated.output);
  assert.match(validated.output, /kubernetes policies \(production with components\/persistent-data\)/);

  // Every environment of the release config that has an overlay is a set of pods in the cluster.
  const environments: string[] = JSON.parse(readFileSync(join(ws, 'libs/release/release.config.json'), 'utf8')).environments;
  const k8s = join(tempDir('k8s'), 'kubernetes');
  cpSync(join(ws, 'libs/sections/kubernetes/src'), k8s, { recursive: true });
  const version = readFileSync(join(ws, 'VERSION'), 'utf8').trim();
  const deployed = environments.filter((env) => sh(k8s, `test -f overlays/${env}/kustomization.yaml`).status === 0);
  assert.equal(deployed, ['production', 'staging', 'qa']);
  const targets: unknown[] = [];
  const servers: Server[] = [];
  const expected: Record<string, { namespace: string; pod: string; address: string }> = {};
  const render = (dir: string) => {
    for (const file of ['base/kustomization.yaml', `${dir}/kustomization.yaml`])
      writeFileSync(join(k8s, file), readFileSync(join(k8s, file), 'utf8').split('{{version}}').join(version));
    const run = sh(k8s, `kubectl kustomize ${dir}`);
    assert.is(run.status, 0, run.output);
    return parseAllDocuments(run.output).map((d) => d.toJS());
  };
  try {
    for (const [i, env] of deployed.entries()) {
      const deployment = render(`overlays/${env}`).find((o) => o.kind === 'Deployment');
      const ip = `127.0.0.${21 + i}`;
      const pod = `spacetime-vr-${env}-0`;
      targets.push(...podTargets(deployment, pod, ip));
      servers.push(await metricsServer(ip, 8080));
      expected[env] = { namespace: deployment.metadata.namespace, pod, address: `${ip}:8080` };
    }
    // A pod of the base alone carries no environment label: it is not a target.
    targets.push(
      ...podTargets(
        render('base').find((o) => o.kind === 'Deployment'),
        'unlabelled-0',
        '127.0.0.29',
      ),
    );
    // The managed PostgreSQL of --postgresql-cidrs is where qa's game servers may connect.
    const qaPolicy = render('overlays/qa').find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'spacetime-vr-postgresql');
    assert.equal(qaPolicy.spec.egress[0].to, [{ ipBlock: { cidr: '10.20.0.0/24' } }, { ipBlock: { cidr: '10.21.0.0/24' } }]);

    const dir = tempDir('prometheus');
    writeFileSync(join(dir, 'pods.json'), JSON.stringify(targets, null, 2));
    const shipped = parse(readFileSync(join(ws, 'libs/sections/monitoring/src/prometheus/prometheus.yml'), 'utf8'));
    const job = shipped.scrape_configs.find((j: { job_name: string }) => j.job_name === 'spacetime-vr');
    // Kubernetes discovery of pods in every namespace, narrowed to the game servers that carry an
    // environment label: no namespace list that a new environment would have to join.
    assert.equal(job.kubernetes_sd_configs, [
      {
        role: 'pod',
        selectors: [{ role: 'pod', label: 'app.kubernetes.io/name=spacetime-vr,app.kubernetes.io/component=game-server,environment' }],
      },
    ]);
    delete job.kubernetes_sd_configs;
    const config = {
      global: { ...shipped.global, scrape_interval: '1s', scrape_timeout: '1s' },
      scrape_configs: [{ ...job, scrape_interval: '1s', scrape_timeout: '1s', file_sd_configs: [{ files: [join(dir, 'pods.json')] }] }],
    };
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    mkdirSync(join(dir, 'data'));
    const port = await freePort();
    const prometheus: ChildProcess = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    prometheus.stderr!.on('data', (d) => (log += d));
    try {
      const api = async (path: string): Promise<any> =>
        ((await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as { data: unknown }).data;
      const active = await poll(`three healthy spacetime-vr targets (log: ${log.slice(-400)})`, 30, async () => {
        const data = await api('/api/v1/targets');
        const up = data.activeTargets.filter((t: { health: string }) => t.health === 'up');
        return up.length === 3 && data.droppedTargets.length > 0 ? data : undefined;
      });
      for (const env of deployed) {
        const target = active.activeTargets.find((t: { labels: Record<string, string> }) => t.labels.environment === env);
        assert.ok(target, `no target labelled environment=${env}`);
        assert.equal(
          {
            job: target.labels.job,
            namespace: target.labels.namespace,
            pod: target.labels.pod,
            instance: target.labels.instance,
            address: target.discoveredLabels.__address__.replace(/:\d+$/, ':8080'),
            scraped: target.scrapeUrl,
          },
          {
            job: 'spacetime-vr',
            namespace: expected[env].namespace,
            pod: expected[env].pod,
            instance: expected[env].pod,
            address: expected[env].address,
            scraped: `http://${expected[env].address}/metrics`,
          },
        );
      }
      // The UDP game port and the pod without an environment label were dropped.
      assert.ok(
        active.droppedTargets.some(
          (t: { discoveredLabels: Record<string, string> }) => t.discoveredLabels.__meta_kubernetes_pod_name === 'unlabelled-0',
        ),
      );
      assert.ok(
        active.droppedTargets.some(
          (t: { discoveredLabels: Record<string, string> }) => t.discoveredLabels.__meta_kubernetes_pod_container_port_name === 'game',
        ),
      );
      // Series carry the environment: the guide's "targets up" check per environment.
      const up = await poll('up series of every environment', 20, async () => {
        const result = await api('/api/v1/query?query=' + encodeURIComponent('sum by (environment, namespace) (up{job="spacetime-vr"})'));
        return result.result.length === 3 ? result.result : undefined;
      });
      assert.equal(
        up
          .map((r: { metric: Record<string, string>; value: [number, string] }) => [r.metric.environment, r.metric.namespace, r.value[1]])
          .sort(),
        deployed.map((env) => [env, expected[env].namespace, '1']).sort(),
      );
    } finally {
      prometheus.kill('SIGTERM');
    }
  } finally {
    for (const server of servers) server.close();
  }
});

test.after(cleanUp);
test.run();
