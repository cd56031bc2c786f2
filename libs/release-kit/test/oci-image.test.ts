import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildReleaseImage, ReleaseImageOptions } from '../src/build/image-build';
import { emulatorFor } from '../src/build/platform';
import { writeArtifactSet } from '../src/section/artifact-set';
import { busyboxBase } from '../../../workspace-tests/oci-base';
import { localBaseImage, requireTool } from '../../../workspace-tests/engines';
import { cleanTempDirs, tempDir, tool, toolStatus } from './helpers';
import { cycloneDxValidator, DOCKERFILE, imageWorkspace, sha256 } from './oci-fixtures';

/**
 * The daemonless multi-arch image build through real tools: the base is Debian's busybox-static
 * for amd64 and arm64 as an OCI layout (workspace-tests/oci-base.ts); the Debian Docker engine
 * (20.10) loads the tarball and runs the image; skopeo reads the OCI archive; qemu-aarch64-static
 * runs the arm64 layer's executable; the CycloneDX 1.5 schema validates the image SBOM.
 */

const artifacts = (o: ReleaseImageOptions) => JSON.parse(readFileSync(join(o.outputDir, 'artifacts.json'), 'utf8'));
const TARBALL = 'spacetime-vr-2.5.0.tar.gz';
const SBOM = 'spacetime-vr-2.5.0.image.cdx.json';

let built: ReleaseImageOptions;

test.before(() => {
  for (const command of ['docker', 'skopeo', 'qemu-aarch64-static']) requireTool(command, `apt-get install ${command}`);
});

test('two builds of the same inputs are byte-identical; the Docker engine loads and runs it; skopeo sees both platforms', async () => {
  const one = await imageWorkspace();
  const two = await imageWorkspace();
  const first = await buildReleaseImage(one);
  await buildReleaseImage(two);
  built = one;
  assert.is(first.builder, 'files');
  for (const file of [TARBALL, SBOM, 'artifacts.json'])
    assert.ok(
      readFileSync(join(one.outputDir, file)).equals(readFileSync(join(two.outputDir, file))),
      `${file} differs between two builds`,
    );

  const image = artifacts(one).metadata.image;
  assert.is(image.builder, 'files');
  assert.equal(image.platforms, ['linux/amd64', 'linux/arm64']);
  assert.equal(image.tags, ['spacetime-vr:dev']);
  assert.is(image.base.id, busyboxBase().index);
  assert.match(image.base.name, /^oci-layout:\/\/layout@sha256:/, 'no machine path in what the build records');
  assert.equal(
    artifacts(one).files.map((f: { path: string }) => f.path),
    [TARBALL, SBOM],
  );

  // skopeo reads the OCI archive: the index of both platforms, with the digest recorded.
  const tarball = join(one.outputDir, TARBALL);
  const raw = tool('skopeo', ['inspect', '--raw', `oci-archive:${tarball}`]);
  assert.is(`sha256:${sha256(Buffer.from(raw))}`, image.index);
  const index = JSON.parse(raw);
  assert.equal(
    index.manifests.map((m: { platform: { os: string; architecture: string } }) => `${m.platform.os}/${m.platform.architecture}`),
    ['linux/amd64', 'linux/arm64'],
  );
  assert.equal(
    index.manifests.map((m: { digest: string }) => m.digest),
    [image.manifests['linux/amd64'], image.manifests['linux/arm64']],
  );
  const arm = JSON.parse(tool('skopeo', ['inspect', '--override-arch', 'arm64', `oci-archive:${tarball}`]));
  assert.is(arm.Architecture, 'arm64');
  assert.is(arm.Labels['org.opencontainers.image.created'], '2023-11-14T22:13:20Z');

  // The build loaded the host's image and ran it; a recipient's `docker load` makes the same image.
  const smoke = readFileSync(join(one.outputDir, 'image-smoke.log'), 'utf8');
  assert.match(smoke, /^ready 2\.5\.0$/m);
  assert.match(smoke, /until HEALTHCHECK \["CMD","\/opt\/spacetime\/spacetime-server","--healthcheck"\] passes/);
  toolStatus('docker', ['rmi', '-f', 'spacetime-vr:dev']);
  assert.match(tool('docker', ['load', '-i', tarball]), /Loaded image: spacetime-vr:dev/);
  const inspect = JSON.parse(tool('docker', ['image', 'inspect', 'spacetime-vr:dev']))[0];
  assert.is(inspect.Id, image.id);
  assert.is(inspect.Config.User, '10001:10001');
  assert.is(inspect.Config.WorkingDir, '/opt/spacetime');
  assert.is(inspect.Architecture, 'amd64');
  assert.is(tool('docker', ['run', '--rm', '--network', 'none', 'spacetime-vr:dev', '--smoke']).trim(), 'ready 2.5.0');
});

test("the arm64 image's layer holds the arm64 executable, which runs under qemu-aarch64-static", () => {
  const image = artifacts(built).metadata.image;
  const layout = tempDir('layout');
  execFileSync('tar', ['-xzf', join(built.outputDir, TARBALL), '-C', layout]);
  const blob = (digest: string) => join(layout, 'blobs/sha256', digest.slice('sha256:'.length));
  const layerOf = (platform: string) => JSON.parse(readFileSync(blob(image.manifests[platform]), 'utf8')).layers[1].digest;
  const files = (platform: string) => {
    const dir = tempDir(platform.replace('/', '-'));
    execFileSync('tar', ['-xzf', blob(layerOf(platform)), '-C', dir]);
    return dir;
  };
  const arm = join(files('linux/arm64'), 'opt/tools/busybox');
  const amd = join(files('linux/amd64'), 'opt/tools/busybox');
  assert.equal(emulatorFor(arm), { machine: 'arm64', qemu: 'qemu-aarch64-static' });
  assert.is(emulatorFor(amd), undefined, 'the amd64 layer holds the amd64 executable');
  assert.is(tool('qemu-aarch64-static', [arm, 'echo', 'arm64 layer runs']).trim(), 'arm64 layer runs');
  assert.match(tool('qemu-aarch64-static', [arm, 'uname', '-m']), /^aarch64$/m);
  assert.is(sha256(readFileSync(arm)), sha256(readFileSync(join(busyboxBase().platforms['linux/arm64'].rootfs, 'bin/busybox'))));
});

test('the image SBOM validates against CycloneDX 1.5 and lists every file of our layers with its SHA-256, and the base OS packages', () => {
  const validate = cycloneDxValidator();
  const bom = JSON.parse(readFileSync(join(built.outputDir, SBOM), 'utf8'));
  assert.ok(validate(bom), JSON.stringify(validate.errors));
  assert.not.ok(validate({ ...bom, components: [{ name: 'no type' }] }), 'the schema is not vacuous');

  const image = artifacts(built).metadata.image;
  assert.is(bom.metadata.component.version, image.index);
  const context = built.contextDir;
  const expected: Record<string, Array<[string, string]>> = {
    'linux/amd64': [
      ['/opt/tools/busybox', sha256(readFileSync(join(context, 'busybox')))],
      ['/opt/spacetime/VERSION.txt', sha256(readFileSync(join(context, 'VERSION.txt')))],
      ['/opt/spacetime/spacetime-server', sha256(readFileSync(join(context, 'spacetime-server')))],
    ],
    'linux/arm64': [
      ['/opt/tools/busybox', sha256(readFileSync(join(context, 'linux/arm64/busybox')))],
      ['/opt/spacetime/VERSION.txt', sha256(readFileSync(join(context, 'VERSION.txt')))],
      ['/opt/spacetime/spacetime-server', sha256(readFileSync(join(context, 'spacetime-server')))],
    ],
  };
  for (const [platform, files] of Object.entries(expected)) {
    const component = bom.components.find((c: { properties: Array<{ name: string; value: string }> }) =>
      c.properties.some((p) => p.name === 'spacetime:platform' && p.value === platform),
    );
    assert.is(component.version, image.manifests[platform]);
    const listed = component.components.filter((c: { type: string }) => c.type === 'file');
    assert.equal(
      listed.map((c: { name: string; hashes: Array<{ content: string }> }) => [c.name, c.hashes[0].content]),
      files,
    );
    const arch = platform.split('/')[1];
    const version = busyboxBase().platforms[platform].version;
    const busybox = component.components.find((c: { name: string }) => c.name === 'busybox-static');
    assert.is(busybox.version, version);
    assert.is(busybox.purl, `pkg:deb/debian/busybox-static@${encodeURIComponent(version)}?arch=${arch}&distro=debian-12`);
    assert.ok(component.components.some((c: { type: string; name: string }) => c.type === 'operating-system' && c.name === 'debian'));
  }
});

test('a RUN step: files refuses it by line; auto builds it through the Docker engine, one platform, and records why', async () => {
  const withRun = DOCKERFILE.replace('WORKDIR /opt/spacetime\n', 'WORKDIR /opt/spacetime\nRUN echo built > /opt/built\n');
  await buildReleaseImage(await imageWorkspace(withRun)).then(
    () => assert.unreachable('files must refuse RUN'),
    (e: Error) =>
      assert.match(
        e.message,
        /^Dockerfile:6: RUN runs a command inside the image: the daemonless build only adds files\n {2}hint: set the image target's builder option to "engine"/,
      ),
  );
  const logged: string[] = [];
  const o = await imageWorkspace(withRun, { builder: 'auto', baseImage: localBaseImage(), log: (l) => logged.push(l) });
  const result = await buildReleaseImage(o);
  assert.is(result.builder, 'engine');
  assert.ok(
    logged.some((l) =>
      /^WARNING Dockerfile:6: RUN runs a command inside the image: the Docker engine builds the image, for linux\/amd64 only$/.test(l),
    ),
    logged.join('\n'),
  );
  const image = artifacts(o).metadata.image;
  assert.equal(
    [image.builder, image.platforms, image.builderReason],
    ['engine', ['linux/amd64'], 'Dockerfile:6: RUN runs a command inside the image'],
  );
  assert.is(tool('docker', ['run', '--rm', '--entrypoint', '/bin/cat', image.id, '/opt/built']).trim(), 'built');
  // The engine saw the amd64 context: the root's busybox, not the arm64 one.
  assert.is(emulatorFor(join(o.contextDir, 'busybox')), undefined);
});

test('wrong bases: not pinned, or damaged; each names what is wrong', async () => {
  await buildReleaseImage(await imageWorkspace(DOCKERFILE, { baseImage: 'debian:bookworm-slim' })).then(
    () => assert.unreachable('an unpinned base must fail'),
    (e: Error) =>
      assert.match(
        e.message,
        /^Dockerfile:2: the base image debian:bookworm-slim is not pinned by digest: the daemonless build only adds files/,
      ),
  );
  // A base blob changed on disk is caught by its digest.
  const base = busyboxBase();
  const copy = tempDir('damaged-base');
  execFileSync('cp', ['-r', base.folder, copy]);
  const layout = join(copy, 'layout');
  const index = JSON.parse(readFileSync(join(layout, 'blobs/sha256', base.index.slice(7)), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(layout, 'blobs/sha256', index.manifests[1].digest.slice(7)), 'utf8'));
  const layer = join(layout, 'blobs/sha256', manifest.layers[0].digest.slice(7));
  const bytes = readFileSync(layer);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(layer, bytes);
  await buildReleaseImage(await imageWorkspace(DOCKERFILE, { baseImage: `oci-layout://${layout}@${base.index}` })).then(
    () => assert.unreachable('a damaged base must fail'),
    (e: Error) => assert.match(e.message, new RegExp(`layout: blob ${manifest.layers[0].digest} does not have that digest: it is damaged`)),
  );
});

test('a platform with no server is a recorded skip in development, an error in production; one the base lacks is an error', async () => {
  const arm7 = await imageWorkspace(DOCKERFILE, { platforms: ['linux/amd64', 'linux/arm/v7'] });
  const dev = await buildReleaseImage(arm7);
  assert.is(dev.builder, 'files');
  assert.equal(artifacts(arm7).skipped, [
    { artifact: `${TARBALL} (linux/arm/v7)`, reason: 'the export made no linux/arm/v7 server (it made linux/amd64, linux/arm64)' },
  ]);
  assert.equal(artifacts(arm7).metadata.image.platforms, ['linux/amd64']);
  await buildReleaseImage(await imageWorkspace(DOCKERFILE, { platforms: ['linux/amd64', 'linux/arm/v7'], production: true })).then(
    () => assert.unreachable('production must fail'),
    (e: Error) => assert.match(e.message, /^Dockerfile: cannot build the image: the export made no linux\/arm\/v7 server/),
  );
  // An export whose output serves every platform (a pack): the base decides.
  const o = await imageWorkspace('ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY VERSION.txt /\n', { platforms: ['linux/amd64', 'linux/386'] });
  await writeArtifactSet(o.contextDir, {
    files: [{ path: 'VERSION.txt', mode: 0o644 }],
    skipped: [],
    metadata: { godot: { artifact: 'VERSION.txt', smoke: { args: ['--smoke'], ready: '.' } } },
  });
  await buildReleaseImage(o).then(
    () => assert.unreachable('a platform the base lacks must fail'),
    (e: Error) => assert.match(e.message, /: the base image has no linux\/386 image; it has: linux\/amd64, linux\/arm64/),
  );
});

test('without a Docker engine the image is still built; its run is a recorded skip in development, an error in production', async () => {
  const env = { ...process.env, DOCKER_HOST: 'unix:///tmp/no-docker-here.sock' };
  const o = await imageWorkspace(DOCKERFILE, { env });
  await buildReleaseImage(o);
  const set = artifacts(o);
  assert.equal(
    set.files.map((f: { path: string }) => f.path),
    [TARBALL, SBOM],
  );
  assert.equal(set.skipped.length, 1);
  assert.match(set.skipped[0].artifact, /spacetime-vr-2\.5\.0\.tar\.gz \(the smoke run of linux\/amd64\)$/);
  assert.match(set.skipped[0].reason, /^no Docker engine answers at unix:\/\/\/tmp\/no-docker-here\.sock \(DOCKER_HOST\)/);
  assert.ok(
    readFileSync(join(o.outputDir, TARBALL)).equals(readFileSync(join(built.outputDir, TARBALL))),
    'the same bytes as with an engine',
  );
  await buildReleaseImage(await imageWorkspace(DOCKERFILE, { env, production: true })).then(
    () => assert.unreachable('production must fail'),
    (e: Error) => assert.match(e.message, /cannot build the image: no Docker engine answers/),
  );
});

test.after(cleanTempDirs);
test.run();
