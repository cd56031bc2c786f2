// Secrets set in the environment of a build never reach its logs, errors, outputs, MANIFEST.json,
// the Nx cache or Nx's workspace data; the private key never enters a task's outputs.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { developmentKeyPath } from '../libs/release-kit/src/assemble/signing';
import { FINAL_BLOCK } from '../libs/release-kit/src/archive/gzip';
import { TAR_PACK } from '../libs/release-kit/src/format/fragment';
import { cleanUp, copyWorkspace, nx, tempDir } from './workspace';

const marker = (name: string) => `marker-${name}-${randomBytes(8).toString('hex')}`;
const SECRETS = {
  RELEASE_SIGNING_PASSPHRASE: marker('passphrase'),
  AWS_ACCESS_KEY_ID: marker('aws-key-id'),
  AWS_SECRET_ACCESS_KEY: marker('aws-secret'),
  AWS_SESSION_TOKEN: marker('aws-session'),
  DOCKER_PASSWORD: marker('docker'),
  GITHUB_TOKEN: marker('github'),
  NPM_TOKEN: marker('npm'),
  NX_CLOUD_ACCESS_TOKEN: marker('nx-cloud'),
};
const WRONG_PASSPHRASE = marker('wrong-passphrase');

let ws = '';
let keys = '';
let privateKeyLines: string[] = [];
const logs: string[] = [];

test.before(async () => {
  ws = copyWorkspace('secrets');
  keys = tempDir('secret-keys');
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Secrets test' }],
    passphrase: SECRETS.RELEASE_SIGNING_PASSPHRASE,
    format: 'armored',
  });
  writeFileSync(join(keys, 'release.asc'), privateKey, { mode: 0o600 });
  // Lines of the armored private key's body: none may show up anywhere either.
  privateKeyLines = privateKey.split('\n').filter((l) => /^[A-Za-z0-9+/]{60,}$/.test(l));
});

const signedEnv = () => ({ ...SECRETS, RELEASE_SIGNING_KEY: join(keys, 'release.asc'), XDG_CONFIG_HOME: join(keys, 'config') });

test('a production-key build with secrets in the environment leaks none of them', () => {
  const build = nx(ws, ['run', 'release:assemble'], signedEnv());
  assert.is(build.status, 0, build.output);
  logs.push(build.output);
  const verify = nx(ws, ['run', 'release:verify'], signedEnv());
  assert.is(verify.status, 0, verify.output);
  logs.push(verify.output);
  const manifest = JSON.parse(readFileSync(join(ws, 'dist/release/spacetime-vr-v2.5.0/MANIFEST.json'), 'utf8'));
  assert.is(manifest.signing.mode, 'openpgp');
});

test('a wrong passphrase fails without echoing it', () => {
  const run = nx(ws, ['run', 'release:assemble', '--excludeTaskDependencies'], {
    ...signedEnv(),
    RELEASE_SIGNING_PASSPHRASE: WRONG_PASSPHRASE,
    BUILD_USER: 'wrong-passphrase',
  });
  assert.is.not(run.status, 0);
  assert.match(run.output, /release\.asc: RELEASE_SIGNING_PASSPHRASE does not unlock this key/);
  logs.push(run.output);
});

test('the development key lives outside the workspace, mode 0600, and stays out of the outputs', () => {
  const devEnv = { XDG_CONFIG_HOME: join(keys, 'config'), BUILD_USER: 'development-key' };
  const run = nx(ws, ['run', 'release:assemble', '--excludeTaskDependencies'], devEnv);
  assert.is(run.status, 0, run.output);
  logs.push(run.output);
  const devKey = developmentKeyPath(devEnv);
  assert.ok(relative(ws, devKey).startsWith('..'), `${devKey} is outside the workspace`);
  assert.is(statSync(devKey).mode & 0o777, 0o600);
  privateKeyLines.push(
    ...readFileSync(devKey, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Za-z0-9+/]{60,}$/.test(l)),
  );
});

test('no secret marker or private key line in the logs, dist/, the Nx cache or .nx/workspace-data', () => {
  const needles = [...Object.values(SECRETS), WRONG_PASSPHRASE, ...privateKeyLines];
  const found: string[] = [];
  const scan = (where: string, data: Buffer) => {
    for (const needle of needles)
      if (data.includes(needle)) found.push(`${where}: ${needle.startsWith('marker-') ? needle : 'a private key line'}`);
  };
  logs.forEach((log, i) => scan(`log of run ${i + 1}`, Buffer.from(log)));
  let files = 0;
  let expanded = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      if (!stat.isFile()) continue;
      files++;
      const data = readFileSync(path);
      scan(relative(ws, path), data);
      for (const inner of unpacked(path, data)) {
        expanded++;
        scan(`${relative(ws, path)} (unpacked)`, inner);
      }
    }
  };
  // copyWorkspace points NX_CACHE_DIRECTORY at .nx/cache, beside .nx/workspace-data.
  for (const dir of ['dist', '.nx']) walk(join(ws, dir));
  console.log(
    `  secrets: ${needles.length} markers and key lines, ${logs.length} logs, ${files} files (${expanded} unpacked): ${found.length} found`,
  );
  assert.ok(files > 100 && expanded > 5, 'the scan saw the outputs');
  assert.equal(found, []);
});

/** The decompressed content of a gzip stream (members joined) or of every zip entry. */
function unpacked(path: string, data: Buffer): Buffer[] {
  if (data[0] === 0x1f && data[1] === 0x8b) {
    try {
      return [gunzipSync(data)];
    } catch {
      return [];
    }
  }
  if (path.endsWith('.zip')) return [spawnSync('unzip', ['-p', path], { maxBuffer: 1 << 30 }).stdout];
  // A section's tar pack is joinable raw deflate pieces: with a final block they read as one stream.
  if (path.endsWith(`/${TAR_PACK}`)) return [inflateRawSync(Buffer.concat([data, FINAL_BLOCK]))];
  return [];
}

test.after(cleanUp);
test.run();
