import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { writeGodot4StandIn } from '../libs/release-kit/test/godot-stand-in';
import { downloadAll, listKeys, S3Server, startS3Server } from '../libs/release-kit/test/s3-server';
import { localBaseImage, requireTool } from './engines';
import { RegistryServer, startRegistry } from './registry-server';
import { cleanUp, copyWorkspace, nx, sh, tempDir } from './workspace';

/**
 * release:publish through real servers on loopback: s3rver (S3 protocol), Debian's
 * docker-registry, the Docker engine that built the image. The workspace's package is a development
 * build (release:assemble), so it goes out with --snapshot; a production release to releases/ and the
 * engine-level cases (conflicts, rewritten objects, --force, the assemble lock, SIGKILL and rerun, bad
 * credentials) are in libs/release-kit/test/publish.test.ts.
 */
const BUCKET = 'spacetime-artifacts';
const SECRET = 'secret-key-that-must-never-be-printed';
let ws = '';
let s3: S3Server;
let registry: RegistryServer;
let env: NodeJS.ProcessEnv = {};
const docker = (command: string) => sh('/', command);

function publishEnv(prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...env,
    ...s3.env,
    AWS_SECRET_ACCESS_KEY: SECRET,
    ARTIFACT_REPO: `s3://${BUCKET}/${prefix}`,
    DOCKER_REGISTRY: registry.address,
    ...extra,
  };
}

test.before(async () => {
  requireTool('docker', 'apt-get install docker.io');
  requireTool('docker-registry', 'apt-get install docker-registry');
  ws = copyWorkspace('publish');
  const bin = writeGodot4StandIn(tempDir('godot4-standin'));
  env = {
    XDG_CONFIG_HOME: tempDir('signing-keys'),
    PATH: `${bin}:${process.env.PATH}`,
    BASE_IMAGE: localBaseImage(),
    GODOT_BIN: '',
    GNUPGHOME: '',
  };
  const assemble = nx(ws, ['run', 'release:assemble'], env);
  if (assemble.status !== 0) throw new Error(assemble.output);
  s3 = await startS3Server(tempDir('s3rver'), [BUCKET]);
  registry = await startRegistry();
});

test.after(async () => {
  registry?.stop();
  await s3?.close();
  docker(`docker images --format '{{.Repository}}:{{.Tag}}' | grep '^127.0.0.1:' | xargs -r docker rmi -f`);
  cleanUp();
});

/** The snapshot folder of the assembled development package: `snapshots/2.5.0-<short commit>`. */
function snapshotDir(): string {
  const manifest = JSON.parse(readFileSync(join(ws, 'dist/release/spacetime-vr-v2.5.0/MANIFEST.json'), 'utf8'));
  assert.match(manifest.git_commit, /^[0-9a-f]{40}$/);
  return `snapshots/2.5.0-${manifest.git_commit.slice(0, 7)}`;
}

const DEVELOPMENT_REFUSED = new RegExp(
  'ERROR .*dist/release/spacetime-vr-v2\\.5\\.0/MANIFEST\\.json: is a development package, which is never published under releases/: ' +
    'it was built with the development configuration; it is signed with the development key.*\\n\\s+' +
    'hint: build with release:assemble:production, or publish it with --snapshot',
);

test('a development package is refused for releases/: nothing is uploaded or pushed', async () => {
  const run = nx(ws, ['run', 'release:publish'], publishEnv('refused-development'));
  assert.is.not(run.status, 0, run.output);
  assert.match(run.output, DEVELOPMENT_REFUSED);
  assert.equal(await listKeys(s3.client, BUCKET, 'refused-development/'), []);
  const tags = await fetch(`http://${registry.address}/v2/spacetime-vr/tags/list`);
  assert.is(tags.status, 404, 'an image was pushed');
});

const snapshotTest =
  'release:publish --snapshot pushes the image as dev, uploads the package and the pinned chart; a recipient verifies it';
test(snapshotTest, async () => {
  const run = nx(ws, ['run', 'release:publish', '--snapshot'], publishEnv('spacetime'));
  assert.is(run.status, 0, run.output);
  assert.not.match(run.output, new RegExp(SECRET));
  const reportText = readFileSync(join(ws, 'dist/release/publish-report.json'), 'utf8');
  assert.not.match(reportText, new RegExp(SECRET));
  const report = JSON.parse(reportText);
  const snapshot = snapshotDir();
  assert.is(report.repository, `s3://${BUCKET}/spacetime`);
  assert.equal([report.mode, report.prefix, report.chart.index], ['snapshot', snapshot, null]);
  assert.ok(
    report.objects.every((o: { action: string }) => o.action === 'uploaded'),
    reportText,
  );
  assert.match(report.image.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(report.image.references, [`${registry.address}/spacetime-vr:dev`]);
  const tags = (await (await fetch(`http://${registry.address}/v2/spacetime-vr/tags/list`)).json()) as { tags: string[] };
  assert.equal(tags.tags, ['dev']);
  const manifest = await fetch(`http://${registry.address}/v2/spacetime-vr/manifests/${report.image.digest}`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  assert.is(manifest.status, 200);

  // The recipient: everything from the bucket into a fresh folder, then the spec's checks.
  const dir = tempDir('download');
  const keys = await downloadAll(s3.client, BUCKET, 'spacetime/', dir);
  assert.equal(
    keys,
    [
      'MANIFEST.json',
      'SHA256SUMS',
      'SHA256SUMS.asc',
      'release-signing-key.asc',
      'spacetime-vr-2.5.0.tgz',
      'spacetime-vr-v2.5.0.intoto.jsonl',
      'spacetime-vr-v2.5.0.tar.gz',
      'spacetime-vr-v2.5.0.zip',
    ].map((file) => `spacetime/${snapshot}/${file}`),
  );
  const release = join(dir, snapshot);
  for (const archive of [
    'spacetime-vr-v2.5.0.tar.gz',
    'spacetime-vr-v2.5.0.zip',
    'spacetime-vr-v2.5.0.intoto.jsonl',
    'release-signing-key.asc',
  ]) {
    assert.ok(
      readFileSync(join(release, archive)).equals(readFileSync(join(ws, 'dist/release', archive))),
      `${archive} differs from the local one`,
    );
  }
  const unpacked = sh(
    release,
    'mkdir x && tar -xzf spacetime-vr-v2.5.0.tar.gz -C x && cd x/spacetime-vr-v2.5.0 && ' +
      'sha256sum -c --quiet ../../SHA256SUMS && cmp ../../MANIFEST.json MANIFEST.json',
  );
  assert.is(unpacked.status, 0, unpacked.output);
  const gpg = sh(release, 'gpg --batch --import release-signing-key.asc && gpg --batch --verify SHA256SUMS.asc SHA256SUMS', {
    GNUPGHOME: mkdirTemp('gnupg'),
  });
  assert.is(gpg.status, 0, gpg.output);
  assert.match(gpg.output, /Good signature/);

  sh(release, 'mkdir chart && tar -xzf spacetime-vr-2.5.0.tgz -C chart');
  const chart = parse(readFileSync(join(release, 'chart/spacetime-vr/Chart.yaml'), 'utf8'));
  assert.equal([chart.version, chart.appVersion], ['2.5.0', '2.5.0']);
  const values = parse(readFileSync(join(release, 'chart/spacetime-vr/values.yaml'), 'utf8'));
  assert.equal([values.image.registry, values.image.digest], [registry.address, report.image.digest]);
});

test('a rerun uploads nothing and pushes again harmlessly', () => {
  const run = nx(ws, ['run', 'release:publish', '--snapshot'], publishEnv('spacetime'));
  assert.is(run.status, 0, run.output);
  const report = JSON.parse(readFileSync(join(ws, 'dist/release/publish-report.json'), 'utf8'));
  assert.ok(
    report.objects.every((o: { action: string }) => o.action === 'skipped'),
    JSON.stringify(report.objects),
  );
  assert.match(run.output, /0 uploaded, 8 already there, 0 overwritten/);
});

test('a registry that refuses the push: one clear error, nothing uploaded', async () => {
  const readOnly = await startRegistry({ readOnly: true });
  try {
    const run = nx(ws, ['run', 'release:publish', '--snapshot'], publishEnv('refused', { DOCKER_REGISTRY: readOnly.address }));
    assert.is.not(run.status, 0, run.output);
    assert.match(
      run.output,
      new RegExp(`ERROR DOCKER_REGISTRY: the registry ${readOnly.address} refused the push of ${readOnly.address}/spacetime-vr:dev: .+`),
    );
    assert.equal(await listKeys(s3.client, BUCKET, 'refused/'), []);
  } finally {
    readOnly.stop();
  }
});

test('without ARTIFACT_REPO and DOCKER_REGISTRY: the file:// repository in dist/, the image skipped loudly; production refuses', () => {
  const refused = nx(ws, ['run', 'release:publish'], env);
  assert.is.not(refused.status, 0);
  assert.match(refused.output, DEVELOPMENT_REFUSED);
  const run = nx(ws, ['run', 'release:publish', '--snapshot'], env);
  assert.is(run.status, 0, run.output);
  assert.match(run.output, /SKIPPED the container registry: DOCKER_REGISTRY \(or --registry\) is not set/);
  const snapshot = snapshotDir();
  for (const file of ['SHA256SUMS.asc', 'spacetime-vr-v2.5.0.tar.gz', 'spacetime-vr-2.5.0.tgz']) {
    assert.ok(existsSync(join(ws, 'dist/artifact-repo', snapshot, file)), file);
  }
  assert.equal(readdirSync(join(ws, 'dist/artifact-repo')), ['snapshots']);
  const strict = nx(ws, ['run', 'release:publish:production'], env);
  assert.is.not(strict.status, 0);
  assert.match(strict.output, DEVELOPMENT_REFUSED);
  const strictSnapshot = nx(ws, ['run', 'release:publish:production', '--snapshot'], env);
  assert.is.not(strictSnapshot.status, 0);
  assert.match(strictSnapshot.output, /ERROR DOCKER_REGISTRY: cannot publish the image: DOCKER_REGISTRY \(or --registry\) is not set/);
});

test('no package: "run release:assemble first"', () => {
  const fresh = copyWorkspace('publish-nothing');
  const run = nx(fresh, ['run', 'release:publish'], env);
  assert.is.not(run.status, 0);
  assert.match(
    run.output,
    /ERROR .*dist\/release\/spacetime-vr-v2\.5\.0: is missing: there is no release package to publish\n\s+hint: run release:assemble first/,
  );
});

function mkdirTemp(label: string): string {
  const dir = join(tempDir(label), 'home');
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

test.run();
