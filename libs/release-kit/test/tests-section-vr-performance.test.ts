// The SHIPPED VR performance validation (tests/performance/vr_performance_validation.py) with the real
// python3: against a real Prometheus (Debian's, in the toolchain) serving metrics backfilled with
// promtool, one namespace per scenario, and against a stub serving the responses recorded from it
// (fixtures/vr-performance-prometheus.json) and the answers a broken Prometheus gives.
//
// RECORD_PROMETHEUS_RESPONSES=1 rewrites the recording from the real Prometheus (format it with
// prettier after); without it the test checks that the recording is still what Prometheus answers.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanTempDirs, tempDir, tool } from './helpers';

const WORKSPACE = join(__dirname, '..', '..', '..');
const SCRIPT = join(WORKSPACE, 'libs/sections/tests/src/performance/vr_performance_validation.py');
const RECORDING = join(__dirname, 'fixtures/vr-performance-prometheus.json');
/** The end of every window: 2025-12-02T10:30:00Z. Samples cover the 15 minutes before it, every 15 s. */
const END = Date.UTC(2025, 11, 2, 10, 30) / 1000;
const STEP = 15;
const SAMPLES = 61;

const FRAME_BUCKETS = ['0.0056', '0.0069', '0.0083', '0.0111', '0.0139', '0.0167', '0.0222', '0.0333', '0.05', '+Inf'];
const TICK_BUCKETS = ['0.001', '0.002', '0.004', '0.006', '0.008', '0.0111', '0.0139', '0.0167', '0.0222', '0.0333', '0.05', '0.1', '+Inf'];
// Observations per scrape interval in each bucket (not cumulative), as the server's histograms count them.
const FRAMES = {
  quest: [600, 800, 500, 90, 10, 0, 0, 0, 0, 0], // p99 10.8 ms
  index: [300, 900, 700, 95, 5, 0, 0, 0, 0, 0], // p99 10.7 ms
  slow: [200, 400, 600, 600, 140, 60, 0, 0, 0, 0], // p99 15.8 ms
};
const TICKS = {
  steady: [200, 600, 450, 80, 15, 5, 0, 0, 0, 0, 0, 0, 0], // 1350 per 15 s: 90 Hz, p99 6.9 ms
  slow: [0, 0, 100, 200, 300, 300, 150, 30, 0, 0, 0, 0, 0], // 1080 per 15 s: 72 Hz, p99 15.7 ms
};

interface Pod {
  name: string;
  ticks: number[];
  fps: number;
  headsets: Record<string, number[]>;
}
/** One namespace per scenario. */
const SCENARIOS: Record<string, Pod[]> = {
  'spacetime-vr-staging': [
    { name: 'spacetime-vr-7c9d-a', ticks: TICKS.steady, fps: 90, headsets: { meta_quest_3: FRAMES.quest } },
    { name: 'spacetime-vr-7c9d-b', ticks: TICKS.steady, fps: 90, headsets: { valve_index: FRAMES.index } },
  ],
  'spacetime-vr-slow-frames': [{ name: 'spacetime-vr-5f2e-a', ticks: TICKS.steady, fps: 90, headsets: { meta_quest_3: FRAMES.slow } }],
  'spacetime-vr-slow-ticks': [
    { name: 'spacetime-vr-81aa-a', ticks: TICKS.steady, fps: 90, headsets: { meta_quest_3: FRAMES.quest } },
    { name: 'spacetime-vr-81aa-b', ticks: TICKS.slow, fps: 72, headsets: { meta_quest_3: FRAMES.quest } },
  ],
  'spacetime-vr-idle': [{ name: 'spacetime-vr-0b1c-a', ticks: TICKS.steady, fps: 90, headsets: {} }],
};

/** The scenarios as an OpenMetrics exposition with timestamps, the input of `promtool tsdb create-blocks-from openmetrics`. */
function openMetrics(): string {
  const lines: string[] = [];
  const labels = (set: Record<string, string>) =>
    `{${Object.entries(set)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',')}}`;
  const histogram = (name: string, bounds: string[], series: Array<{ set: Record<string, string>; perStep: number[] }>) => {
    lines.push(`# TYPE ${name} histogram`);
    for (const { set, perStep } of series) {
      for (let i = 0; i < SAMPLES; i++) {
        const t = END - (SAMPLES - 1 - i) * STEP;
        let cumulative = 0;
        bounds.forEach((le, b) => {
          cumulative += perStep[b] * i;
          lines.push(`${name}_bucket${labels({ ...set, le })} ${cumulative} ${t}`);
        });
        lines.push(`${name}_count${labels(set)} ${cumulative} ${t}`, `${name}_sum${labels(set)} ${(cumulative * 0.008).toFixed(3)} ${t}`);
      }
    }
  };
  const pods = Object.entries(SCENARIOS).flatMap(([namespace, list]) =>
    list.map((pod) => ({ pod, set: { job: 'spacetime-vr', namespace, pod: pod.name } })),
  );
  histogram(
    'spacetime_vr_frame_time_seconds',
    FRAME_BUCKETS,
    pods.flatMap(({ pod, set }) => Object.entries(pod.headsets).map(([headset, perStep]) => ({ set: { ...set, headset }, perStep }))),
  );
  histogram(
    'spacetime_server_tick_duration_seconds',
    TICK_BUCKETS,
    pods.map(({ pod, set }) => ({ set, perStep: pod.ticks })),
  );
  lines.push('# TYPE spacetime_server_fps gauge');
  for (const { pod, set } of pods)
    for (let i = 0; i < SAMPLES; i++) lines.push(`spacetime_server_fps${labels(set)} ${pod.fps} ${END - (SAMPLES - 1 - i) * STEP}`);
  return `${lines.join('\n')}\n# EOF\n`;
}

interface Run {
  status: number;
  output: string;
}

function validate(prometheusUrl: string, args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'PROMETHEUS_URL' && k !== 'SPACETIME_NAMESPACE'));
  return new Promise((resolve) => {
    execFile('python3', [SCRIPT, '--prometheus-url', prometheusUrl, '--end', String(END), ...args], { env }, (err, stdout, stderr) =>
      resolve({ status: err ? Number(err.code ?? -1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

type Answer = { status: number; type: string; body: string };

/** An HTTP server answering `GET /api/v1/query` with `answer(query)`; every query is kept. */
async function fakePrometheus(answer: (query: string, req: IncomingMessage) => Answer | Promise<Answer>) {
  const queries: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const query = url.searchParams.get('query') ?? '';
    queries.push(query);
    const { status, type, body } = await answer(query, req);
    res.writeHead(status, { 'Content-Type': type }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, queries, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const prometheus: { process?: ChildProcess; url: string } = { url: '' };

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test.before(async () => {
  const dir = tempDir('vr-prometheus');
  writeFileSync(join(dir, 'metrics.om'), openMetrics());
  tool('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'metrics.om'), join(dir, 'data')]);
  writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  evaluation_interval: 1m\n');
  const port = await freePort();
  prometheus.url = `http://127.0.0.1:${port}`;
  prometheus.process = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--storage.tsdb.retention.time=100y',
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${prometheus.url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Prometheus did not get ready at ${prometheus.url}`);
});

test.after(() => {
  prometheus.process?.kill();
  cleanTempDirs();
});

const recorded: Record<string, unknown> = {};

/** An answer with its samples in label order: Prometheus gives them in no fixed order. */
function canonical(answer: { data?: { result?: Array<{ metric: object }> } }) {
  answer.data?.result?.sort((x, y) => JSON.stringify(x.metric).localeCompare(JSON.stringify(y.metric)));
  return answer;
}

/** Runs the script through a recording proxy in front of the real Prometheus. */
async function againstPrometheus(args: string[]): Promise<Run> {
  const proxy = await fakePrometheus(async (query) => {
    const url = `${prometheus.url}/api/v1/query?${new URLSearchParams({ query, time: END.toFixed(3) })}`;
    const response = await fetch(url);
    const body = await response.text();
    recorded[query] = canonical(JSON.parse(body));
    return { status: response.status, type: response.headers.get('content-type') ?? '', body };
  });
  try {
    return await validate(proxy.url, args);
  } finally {
    await proxy.close();
  }
}

/** The PASS and FAIL lines, their columns' padding folded to one space. */
const verdicts = (run: Run) =>
  run.output
    .split('\n')
    .filter((l) => /^(PASS|FAIL) /.test(l))
    .map((l) => l.replace(/ +/g, ' '));

/** Asserts a verdict line that is `line`, or matches it. */
function says(run: Run, line: string | RegExp): void {
  const found = verdicts(run).some((v) => (typeof line === 'string' ? v === line : line.test(v)));
  assert.ok(found, `no verdict ${line} in:\n${run.output}`);
}

test('a healthy staging window passes every check, per pod, with each headset named', async () => {
  const run = await againstPrometheus(['--namespace', 'spacetime-vr-staging']);
  assert.is(run.status, 0, run.output);
  assert.equal(verdicts(run), [
    'PASS frame-time-p99 10.7 ms <= 11.1 ms (90 Hz budget) over 160000 frames',
    'PASS tick-time-p99 pod spacetime-vr-7c9d-a: 6.9 ms <= 11.1 ms (90 Hz tick budget)',
    'PASS tick-time-p99 pod spacetime-vr-7c9d-b: 6.9 ms <= 11.1 ms (90 Hz tick budget)',
    'PASS tick-rate pod spacetime-vr-7c9d-a: 90.0 Hz >= 85.5 Hz (target 90 Hz, 5 % tolerance)',
    'PASS tick-rate pod spacetime-vr-7c9d-b: 90.0 Hz >= 85.5 Hz (target 90 Hz, 5 % tolerance)',
  ]);
  assert.match(run.output, /headset meta_quest_3: p99 10\.8 ms\n\s+headset valve_index: p99 10\.7 ms/);
  assert.match(run.output, 'window:     10m ending 2025-12-02T10:30:00Z');
  assert.match(run.output, /^VR PERFORMANCE VALIDATION PASSED$/m);
});

test('frames over the 90 Hz budget fail the frame check; a 120 Hz headset budget is tighter still', async () => {
  const slow = await againstPrometheus(['--namespace', 'spacetime-vr-slow-frames']);
  assert.is(slow.status, 1, slow.output);
  says(slow, /^FAIL frame-time-p99 15\.8 ms > 11\.1 ms \(90 Hz budget\) over 80000 frames$/);
  assert.match(slow.output, /^VR PERFORMANCE VALIDATION FAILED: frame-time-p99$/m);
  const tight = await againstPrometheus(['--namespace', 'spacetime-vr-staging', '--refresh-rate', '120']);
  assert.is(tight.status, 1, tight.output);
  says(tight, /^FAIL frame-time-p99 10\.7 ms > 8\.3 ms \(120 Hz budget\)/);
});

test('a pod below the tick-rate target fails the tick checks, named; the other pod passes', async () => {
  const run = await againstPrometheus(['--namespace', 'spacetime-vr-slow-ticks']);
  assert.is(run.status, 1, run.output);
  says(run, /^PASS tick-rate pod spacetime-vr-81aa-a: 90\.0 Hz >= 85\.5 Hz/);
  says(run, /^FAIL tick-rate pod spacetime-vr-81aa-b: 72\.0 Hz < 85\.5 Hz \(target 90 Hz, 5 % tolerance\)$/);
  says(run, /^FAIL tick-time-p99 pod spacetime-vr-81aa-b: 15\.7 ms > 11\.1 ms/);
  assert.match(run.output, /^VR PERFORMANCE VALIDATION FAILED: tick-rate tick-time-p99$/m);
  const lenient = await againstPrometheus(['--namespace', 'spacetime-vr-slow-ticks', '--tick-rate', '72', '--min-frame-samples', '1']);
  says(lenient, /^PASS tick-rate pod spacetime-vr-81aa-b: 72\.0 Hz >= 68\.4 Hz/);
});

test('no data is no evidence: no headsets, too few frames, or a namespace Prometheus does not scrape', async () => {
  const idle = await againstPrometheus(['--namespace', 'spacetime-vr-idle']);
  assert.is(idle.status, 1, idle.output);
  says(idle, /^FAIL frame-time-p99 no frame times reported in namespace spacetime-vr-idle over the 10m before/);
  says(idle, /^PASS tick-rate /);
  const few = await againstPrometheus(['--namespace', 'spacetime-vr-staging', '--min-frame-samples', '500000']);
  says(few, /^FAIL frame-time-p99 only 160000 frames in namespace spacetime-vr-staging .* \(at least 500000 are needed to judge\)$/);
  const nowhere = await againstPrometheus(['--namespace', 'spacetime-vr-nowhere']);
  assert.is(nowhere.status, 1, nowhere.output);
  says(nowhere, /^FAIL tick-time-p99 no game server reported tick metrics in namespace spacetime-vr-nowhere/);
  assert.match(nowhere.output, /^VR PERFORMANCE VALIDATION FAILED: frame-time-p99 tick-rate tick-time-p99$/m);
});

test('the recorded responses are what this Prometheus answers', () => {
  if (process.env.RECORD_PROMETHEUS_RESPONSES === '1') writeFileSync(RECORDING, `${JSON.stringify(recorded, null, 2)}\n`);
  const recording = JSON.parse(readFileSync(RECORDING, 'utf8')) as Record<string, unknown>;
  assert.equal(Object.keys(recording).sort(), Object.keys(recorded).sort(), 'the same queries');
  for (const [query, answer] of Object.entries(recorded)) assert.equal(recording[query], answer, query);
});

/** The recorded answer of a query; a query the recording does not hold is a 400, as Prometheus answers a bad one. */
function replay(query: string): Answer {
  const recording = JSON.parse(readFileSync(RECORDING, 'utf8')) as Record<string, unknown>;
  if (query in recording) return { status: 200, type: 'application/json', body: JSON.stringify(recording[query]) };
  return { status: 400, type: 'application/json', body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'not recorded' }) };
}

test('from the recording alone: the same verdicts, the same queries, and the bearer token sent', async () => {
  const token = join(tempDir('vr-token'), 'token');
  writeFileSync(token, 'prometheus-reader-token\n');
  let authorization = '';
  const stub = await fakePrometheus((query, req) => {
    authorization = String(req.headers.authorization ?? '');
    return replay(query);
  });
  try {
    const healthy = await validate(stub.url, ['--namespace', 'spacetime-vr-staging', '--bearer-token-file', token]);
    assert.is(healthy.status, 0, healthy.output);
    assert.is(authorization, 'Bearer prometheus-reader-token');
    assert.not.match(healthy.output, 'prometheus-reader-token');
    const slow = await validate(stub.url, ['--namespace', 'spacetime-vr-slow-ticks']);
    assert.is(slow.status, 1, slow.output);
    says(slow, /^FAIL tick-rate pod spacetime-vr-81aa-b: 72\.0 Hz < 85\.5 Hz/);
    assert.ok(
      stub.queries.every((q) => /\{job="spacetime-vr",namespace="spacetime-vr-(staging|slow-ticks)"\}\[10m\]/.test(q)),
      stub.queries.join('\n'),
    );
  } finally {
    await stub.close();
  }
});

test('a Prometheus that cannot answer is one FAIL line naming why, never a stack trace', async () => {
  const cases: Array<[Answer, RegExp]> = [
    [
      { status: 200, type: 'text/html', body: '<html>Grafana login</html>' },
      /answered HTTP 200 with text\/html, not the Prometheus API: is --prometheus-url right\?/,
    ],
    [
      { status: 401, type: 'application/json', body: '{"status":"error","errorType":"unauthorized","error":"missing token"}' },
      /Prometheus refused the query \(HTTP 401, unauthorized\): missing token/,
    ],
    [
      { status: 200, type: 'application/json', body: '{"status":"success","data":{"resultType":"matrix","result":[]}}' },
      /Prometheus answered a matrix to an instant query/,
    ],
    [
      { status: 200, type: 'application/json', body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}' },
      /the answer is not an instant vector \(KeyError: 'value'\)/,
    ],
    [{ status: 200, type: 'application/json', body: '[1, 2]' }, /Prometheus refused the query \(HTTP 200, error\): not a JSON object/],
  ];
  for (const [answer, message] of cases) {
    const stub = await fakePrometheus(() => answer);
    try {
      const run = await validate(stub.url, []);
      assert.is(run.status, 1, run.output);
      says(run, /^FAIL prometheus /);
      assert.match(run.output, message);
      assert.not.match(run.output, 'Traceback');
    } finally {
      await stub.close();
    }
  }
  const closed = await validate(`http://127.0.0.1:${await freePort()}`, []);
  assert.is(closed.status, 1, closed.output);
  says(closed, /^FAIL prometheus cannot reach Prometheus at http:\/\/127\.0\.0\.1:\d+: .*Connection refused/);
});

test('usage errors exit 2 and name the argument', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--namespace', 'a"b'], /argument --namespace: not a namespace: 'a"b'/],
    [['--window', '10 minutes'], /argument --window: not a Prometheus duration/],
    [['--end', 'yesterday'], /argument --end: not a Unix time or an RFC 3339 time: 'yesterday'/],
    [['--end', '2025-12-02T10:30:00'], /argument --end: give a time zone/],
    [['--refresh-rate', '0'], /argument --refresh-rate: must be positive: '0'/],
    [['--tick-rate-tolerance', '100'], /--tick-rate-tolerance must be below 100/],
    [['--bearer-token-file', '/nonexistent/token'], /cannot read --bearer-token-file: No such file or directory/],
  ];
  for (const [args, message] of cases) {
    const run = await validate('http://127.0.0.1:9', args);
    assert.is(run.status, 2, run.output);
    assert.match(run.output, message);
  }
  for (const url of ['ftp://prometheus', 'http://reader:secret@prometheus:9090']) {
    const run = await validate(url, []);
    assert.is(run.status, 2, run.output);
    assert.not.match(run.output, 'secret@');
  }
});

test.run();
