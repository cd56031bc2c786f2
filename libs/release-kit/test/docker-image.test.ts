import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeArtifactSet } from '../src/section/artifact-set';
import { buildAndSaveImage, BuildTranscript, gzipStream, ImageBuildOptions, imageLabels } from '../src/build/docker-image';
import { localBaseImage } from '../../../workspace-tests/engines';
import { cleanTempDirs, incompressible, tempDir } from './helpers';

test('the build transcript names the failing Dockerfile step and its output', () => {
  const t = new BuildTranscript();
  for (const event of [
    { stream: 'Step 1/3 : FROM scratch\n' },
    { stream: ' ---> \n' },
    { stream: 'Step 2/3 : COPY spacetime-server /opt/\n' },
    { stream: 'some output of the step\n' },
    { errorDetail: { message: 'COPY failed: file not found in build context' }, error: 'COPY failed: file not found in build context' },
  ])
    t.add(event);
  assert.is(
    t.failure(),
    'Dockerfile step 2/3 `COPY spacetime-server /opt/` failed: COPY failed: file not found in build context\n    some output of the step',
  );
  const early = new BuildTranscript();
  early.add({ error: 'dockerfile parse error line 3: unknown instruction: FORM' });
  assert.match(early.failure(), /^the build failed before its first Dockerfile step: dockerfile parse error line 3/);
});

test('labels carry version, revision and the given date, never the clock', () => {
  assert.equal(imageLabels('2.5.0', 'abc123', 1700000000), {
    'org.opencontainers.image.title': 'spacetime-vr',
    'org.opencontainers.image.version': '2.5.0',
    'org.opencontainers.image.revision': 'abc123',
    'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
  });
});

test('gzipStream writes a fixed header, the same bytes twice, and gunzip gives the input back', async () => {
  const data = Buffer.concat([incompressible(3 << 20), Buffer.alloc(2 << 20, 7)]);
  const dir = tempDir('gzip');
  const seen: number[] = [];
  const size = await gzipStream(Readable.from([data.subarray(0, 1 << 20), data.subarray(1 << 20)]), join(dir, 'a.gz'), (n) => seen.push(n));
  await gzipStream(Readable.from([data]), join(dir, 'b.gz'));
  assert.is(size, data.length);
  const a = readFileSync(join(dir, 'a.gz'));
  assert.equal([...a.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  assert.ok(a.equals(readFileSync(join(dir, 'b.gz'))), 'same input, different bytes');
  assert.ok(gunzipSync(a).equals(data));
  assert.ok(execFileSync('gzip', ['-t', join(dir, 'a.gz')]).length === 0);
});

async function buildOptions(dockerfile: string, over: Partial<ImageBuildOptions> = {}): Promise<ImageBuildOptions> {
  const root = tempDir('image');
  const context = join(root, 'server');
  execFileSync('mkdir', ['-p', context]);
  writeFileSync(join(context, 'spacetime-server'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  writeFileSync(join(context, 'VERSION.txt'), '2.5.0\n');
  await writeArtifactSet(context, {
    files: [
      { path: 'VERSION.txt', mode: 0o644 },
      { path: 'spacetime-server', mode: 0o755 },
    ],
    skipped: [],
    metadata: { godot: { artifact: 'spacetime-server', smoke: { args: ['--smoke'], ready: '^hi$' } } },
  });
  writeFileSync(join(root, 'Dockerfile'), dockerfile);
  return {
    workspaceRoot: root,
    dockerfile: join(root, 'Dockerfile'),
    contextDir: context,
    outputDir: join(root, 'image'),
    version: '2.5.0',
    created: 315532800,
    mtime: 315532800,
    production: false,
    smokeTimeoutSeconds: 20,
    env: { ...process.env },
    ...over,
  };
}

test('real engine: a failing Dockerfile step is named with its error', async () => {
  const o = await buildOptions('FROM scratch\nCOPY VERSION.txt /\nCOPY not-in-the-context /opt/\n');
  await buildAndSaveImage(o).then(
    () => assert.unreachable('the build must fail'),
    (e: Error) => {
      assert.match(e.message, /Dockerfile: Dockerfile step 3\/\d+ `COPY not-in-the-context \/opt\/` failed: .*not-in-the-context/);
      assert.match(e.message, /hint: full build output: image\/docker-build\.log/);
    },
  );
});

test('an unreachable engine: one clear line; a recorded skip in development, an error in production', async () => {
  const env = { ...process.env, DOCKER_HOST: 'unix:///tmp/no-docker-here.sock' };
  const dev = await buildOptions('FROM scratch\n', { env });
  const result = await buildAndSaveImage(dev);
  assert.match(
    result.skipped!,
    /^no Docker engine answers at unix:\/\/\/tmp\/no-docker-here\.sock \(DOCKER_HOST\): .*ENOENT.*; start dockerd or point DOCKER_HOST at one/,
  );
  const set = JSON.parse(readFileSync(join(dev.outputDir, 'artifacts.json'), 'utf8'));
  assert.equal(set.skipped, [{ artifact: 'spacetime-vr-2.5.0.tar.gz', reason: result.skipped }]);
  await buildAndSaveImage(await buildOptions('FROM scratch\n', { env, production: true })).then(
    () => assert.unreachable('production must fail'),
    (e: Error) =>
      assert.match(e.message, /cannot build the Docker image: no Docker engine answers at unix:\/\/\/tmp\/no-docker-here\.sock/),
  );
});

/** A server the busybox base runs: prints its ready line under --smoke; answers its healthcheck once serving. */
const SERVER_IMAGE = (base: string, healthcheck: string) => `FROM ${base}
WORKDIR /opt/spacetime
COPY spacetime-server VERSION.txt /opt/spacetime/
${healthcheck}
ENTRYPOINT ["/opt/spacetime/spacetime-server"]
`;

async function serverOptions(script: string, dockerfile: string) {
  const o = await buildOptions(dockerfile);
  writeFileSync(join(o.contextDir, 'spacetime-server'), script, { mode: 0o755 });
  await writeArtifactSet(o.contextDir, {
    files: [
      { path: 'VERSION.txt', mode: 0o644 },
      { path: 'spacetime-server', mode: 0o755 },
    ],
    skipped: [],
    metadata: { godot: { artifact: 'spacetime-server', smoke: { args: ['--smoke'], ready: '^ready 2\\.5\\.0$' } } },
  });
  return o;
}

const SERVER = `#!/bin/sh
case "$1" in
  --smoke) echo "ready $(cat VERSION.txt)"; exit 0;;
  --healthcheck) [ -f /tmp/up ]; exit $?;;
esac
: > /tmp/up
exec sleep 600
`;

test('real engine: an image without a HEALTHCHECK fails after its smoke passed, and keeps no tag', async () => {
  const o = await serverOptions(SERVER, SERVER_IMAGE(localBaseImage(), ''));
  await buildAndSaveImage(o).then(
    () => assert.unreachable('an image without a HEALTHCHECK must fail'),
    (e: Error) => {
      assert.match(e.message, /Dockerfile: the image does not start:\n {2}- HEALTHCHECK: the image declares none/);
      assert.match(e.message, /hint: what the containers printed: image\/image-smoke\.log/);
    },
  );
  assert.match(readFileSync(join(o.outputDir, 'image-smoke.log'), 'utf8'), /^ready 2\.5\.0$/m);
  assert.is(execFileSync('docker', ['images', '-q', 'spacetime-vr:dev']).toString(), '', 'the failed image keeps no tag');
});

test('real engine: a server that prints an error under --smoke fails the image; a healthy one is saved', async () => {
  const healthcheck = 'HEALTHCHECK --interval=30s CMD ["/opt/spacetime/spacetime-server", "--healthcheck"]';
  const broken = SERVER.replace('--smoke) echo', '--smoke) echo "SCRIPT ERROR: Invalid call. Nonexistent function \'start\'"; echo');
  await buildAndSaveImage(await serverOptions(broken, SERVER_IMAGE(localBaseImage(), healthcheck))).then(
    () => assert.unreachable('the smoke must fail'),
    (e: Error) => assert.match(e.message, /the image does not start:\n {2}- smoke \(--smoke\): printed SCRIPT ERROR: Invalid call/),
  );
  const o = await serverOptions(SERVER, SERVER_IMAGE(localBaseImage(), healthcheck));
  const result = await buildAndSaveImage(o);
  assert.ok(result.tarball && readFileSync(result.tarball).length > 0);
  // The base image, for the provenance attestation: its ID (no registry digest: it was imported here).
  const { base } = JSON.parse(readFileSync(join(o.outputDir, 'artifacts.json'), 'utf8')).metadata.image;
  const baseId = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', localBaseImage()]).toString().trim();
  assert.equal(base, { name: localBaseImage(), id: baseId, repoDigests: [] });
  assert.match(
    readFileSync(join(o.outputDir, 'image-smoke.log'), 'utf8'),
    /until HEALTHCHECK \["CMD","\/opt\/spacetime\/spacetime-server","--healthcheck"\] passes/,
  );
});

test.after(cleanTempDirs);
test.run();
