import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, copyWorkspace, git, nx, SOURCE_ROOT, tempDir, tasksFromCache, tasksRun, type Run } from './workspace';

const TOKEN = 'remote-cache-test-token';
const ARCHIVES = ['spacetime-vr-v2.5.0.tar.gz', 'spacetime-vr-v2.5.0.zip', 'release-signing-key.asc'];
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let server: ChildProcess;
let url = '';
let storage = '';
const requests: { method: string; status: number }[] = [];
let origin = '';
const clones: string[] = [];
const runs: Run[] = [];

/** Two machines: different paths, umasks, time zones and locales; one signing key, one remote cache. */
function assemble(i: number): Run {
  const setup = [
    { env: { TZ: 'UTC' }, prefix: 'umask 022; ' },
    { env: { TZ: 'Pacific/Chatham', LANG: 'C' }, prefix: 'umask 077; ' },
  ][i];
  const env = {
    ...setup.env,
    XDG_CONFIG_HOME: join(origin, '..', 'signing-key'),
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url,
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: TOKEN,
  };
  return nx(clones[i], ['run', 'release:assemble'], env, `ln -sfn ${origin}/node_modules node_modules; ${setup.prefix}`);
}

/** Lets the server's request log (buffered in the pipe while nx ran) arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

test.before(async () => {
  storage = tempDir('nx-remote-cache');
  server = spawn(process.execPath, [join(SOURCE_ROOT, 'tools/nx-cache-server.mjs'), storage], {
    env: { ...process.env, NX_CACHE_SERVER_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  url = await new Promise<string>((resolve) => {
    let pending = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('listening ')) resolve(line.slice('listening '.length));
        else requests.push(JSON.parse(line));
      }
    });
  });
  origin = copyWorkspace('remote-origin');
  clones.push(join(tempDir('machine-a'), 'a'), join(tempDir('machine-b-elsewhere'), 'deeper', 'b'));
  for (const clone of clones) git(origin, 'clone', '-q', origin, clone);
});

test('the cache server follows the spec: bearer token, 404 for a miss, 409 for an existing entry', async () => {
  const entry = `${url}/v1/cache/spec-check`;
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.is((await fetch(entry)).status, 401);
  assert.is((await fetch(entry, { headers: auth })).status, 404);
  assert.is((await fetch(entry, { method: 'PUT', headers: auth, body: 'x' })).status, 200);
  assert.is((await fetch(entry, { method: 'PUT', headers: auth, body: 'y' })).status, 409);
  assert.is(await (await fetch(entry, { headers: auth })).text(), 'x');
});

test('the first machine builds every section task and uploads it', async () => {
  requests.length = 0;
  runs.push(assemble(0));
  assert.is(runs[0].status, 0, runs[0].output);
  await settle();
  const uploaded = requests.filter((r) => r.method === 'PUT' && r.status === 200).length;
  console.log(
    `machine a: ${tasksRun(runs[0].output).length} tasks run, ${tasksFromCache(runs[0].output).length} restored, ${uploaded} uploaded`,
  );
  assert.ok(tasksRun(runs[0].output).length > 8, runs[0].output);
  assert.is(uploaded, tasksRun(runs[0].output).length - 1, 'every cacheable task is uploaded (release:assemble is not cached)');
});

test('the second machine restores every section task from the remote cache and builds the same bytes', async () => {
  requests.length = 0;
  runs.push(assemble(1));
  assert.is(runs[1].status, 0, runs[1].output);
  await settle();
  const built = tasksRun(runs[0].output).filter((t) => !t.startsWith('release:'));
  const downloads = requests.filter((r) => r.method === 'GET' && r.status === 200).length;
  console.log(
    `machine b: ${tasksRun(runs[1].output).length} tasks run, ${tasksFromCache(runs[1].output).length} restored (${downloads} downloads)`,
  );
  assert.equal(tasksRun(runs[1].output), ['release:assemble:development']);
  assert.equal(tasksFromCache(runs[1].output), built);
  for (const task of built)
    assert.match(runs[1].output, new RegExp(`nx run ${task}\\s.*\\[remote cache\\]`), `${task} did not come from the remote cache`);
  const digests = clones.map((clone) => ARCHIVES.map((f) => sha(join(clone, 'dist/release', f))));
  assert.equal(digests[1], digests[0]);
  const verify = nx(clones[1], ['run', 'release:verify'], { XDG_CONFIG_HOME: join(origin, '..', 'signing-key') });
  assert.is(verify.status, 0, verify.output);
});

test("no restored output and no cache entry holds the first machine's path", () => {
  const leaks: string[] = [];
  const search = (name: string, data: Buffer) => {
    const text = (data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data).toString('latin1');
    if (text.includes(clones[0])) leaks.push(name);
  };
  for (const entry of readdirSync(join(clones[1], 'dist'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) search(join(entry.parentPath, entry.name), readFileSync(join(entry.parentPath, entry.name)));
  }
  for (const entry of readdirSync(storage)) search(`cache entry ${entry}`, readFileSync(join(storage, entry)));
  assert.ok(readdirSync(storage).length > 8);
  assert.equal(leaks, []);
});

test.after(() => {
  server.kill();
  cleanUp();
});
test.run();
