import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { writeGodot4StandIn } from '../libs/release-kit/test/godot-stand-in';
import { cycloneDxValidator } from '../libs/release-kit/test/oci-fixtures';
import { requireTool } from './engines';
import { busyboxBase } from './oci-base';
import { RegistryServer, startRegistry } from './registry-server';
import { cleanUp, copyWorkspace, nx, sh, tempDir } from './workspace';

/**
 * The binaries section's multi-arch image through `nx`: binaries:export exports one server per
 * platform preset (Godot 4 is a STAND-IN, libs/release-kit/test/godot-stand-in.ts), binaries:image
 * builds the image of both platforms from files on the busybox base layout (workspace-tests/oci-base.ts),
 * the Debian Docker engine loads it and runs it, skopeo reads it, release:publish pushes the index to
 * Debian's docker-registry on loopback.
 */
let ws = '';
let env: NodeJS.ProcessEnv = {};
let registry: RegistryServer;
const IMAGE = 'dist/binaries/image/spacetime-vr-2.5.0.tar.gz';
const PACKAGE = 'dist/release/spacetime-vr-v2.5.0';
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const json = (path: string) => JSON.parse(readFileSync(join(ws, path), 'utf8'));

test.before(async () => {
  for (const command of ['docker', 'skopeo', 'docker-registry']) requireTool(command, `apt-get install ${command}`);
  ws = copyWorkspace('oci-image');
  const bin = writeGodot4StandIn(tempDir('godot4-standin'));
  env = {
    XDG_CONFIG_HOME: tempDir('signing-keys'),
    PATH: `${bin}:${process.env.PATH}`,
    BASE_IMAGE: busyboxBase().reference,
    GODOT_BIN: '',
  };
  registry = await startRegistry();
});

test('binaries:export exports one server per platform preset, each started; artifacts.json lists the platforms', () => {
  const run = nx(ws, ['run', 'binaries:export'], env);
  assert.is(run.status, 0, run.output);
  assert.match(run.output, /exporting preset "Linux Server" \(release\), then "Linux Server arm64" \(linux\/arm64\)/);
  assert.match(run.output, /the exported server for linux\/arm64 started and printed its ready line/);
  const set = json('dist/binaries/server/artifacts.json');
  assert.equal(
    set.files.map((f: { path: string; mode: number }) => [f.path, f.mode.toString(8)]),
    [
      ['VERSION.txt', '644'],
      ['spacetime-server', '755'],
      ['linux/arm64/spacetime-server', '755'],
    ],
  );
  assert.equal(set.metadata.platforms, [
    { platform: 'linux/amd64', preset: 'Linux Server', dir: '' },
    { platform: 'linux/arm64', preset: 'Linux Server arm64', dir: 'linux/arm64' },
  ]);
  assert.match(readFileSync(join(ws, 'dist/binaries/server/godot-smoke-linux-arm64.log'), 'utf8'), /^SpaceTime VR server 2\.5\.0 ready$/m);
});

test('binaries:image built twice from files: byte-identical tarballs; the Docker engine loaded the host image, which ran', () => {
  const first = nx(ws, ['run', 'binaries:image', '--skip-nx-cache'], env);
  assert.is(first.status, 0, first.output);
  assert.match(first.output, /building spacetime-vr:dev for linux\/amd64, linux\/arm64 from files, FROM oci-layout:\/\/layout@sha256:/);
  assert.match(first.output, /built by the daemonless build/);
  const bytes = readFileSync(join(ws, IMAGE));
  const set = readFileSync(join(ws, 'dist/binaries/image/artifacts.json'), 'utf8');
  const second = nx(ws, ['run', 'binaries:image', '--skip-nx-cache', '--exclude-task-dependencies'], env);
  assert.is(second.status, 0, second.output);
  assert.is(sha256(readFileSync(join(ws, IMAGE))), sha256(bytes), 'two builds of the image differ');
  assert.is(readFileSync(join(ws, 'dist/binaries/image/artifacts.json'), 'utf8'), set);
  const smoke = readFileSync(join(ws, 'dist/binaries/image/image-smoke.log'), 'utf8');
  assert.match(smoke, /^SpaceTime VR server 2\.5\.0 ready$/m);
  assert.match(smoke, /^spacetime-server 2\.5\.0 preset=Linux Server mode=--export-release args=--headless$/m);
});

test('release:assemble: MANIFEST.json records builder and index; the image SBOM ships, validates, and SBOM.cdx.json refers to it', () => {
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  const manifest = json(`${PACKAGE}/MANIFEST.json`);
  assert.equal(manifest.skipped, []);
  const image = manifest.sections.find((s: { name: string }) => s.name === 'binaries').metadata.image;
  assert.is(image.builder, 'files');
  assert.equal(image.platforms, ['linux/amd64', 'linux/arm64']);
  const tarball = join(ws, PACKAGE, 'binaries/spacetime-vr-2.5.0.tar.gz');
  const index = sh('/', `skopeo inspect --raw oci-archive:${tarball}`).output;
  assert.is(`sha256:${sha256(index)}`, image.index);
  assert.equal(
    JSON.parse(index).manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture),
    ['amd64', 'arm64'],
  );
  const files = manifest.files.map((f: { path: string }) => f.path);
  assert.ok(files.includes('binaries/linux/arm64/spacetime-server'), 'the arm64 server ships');
  assert.ok(files.includes('binaries/spacetime-vr-2.5.0.image.cdx.json'));

  const validate = cycloneDxValidator();
  const imageSbom = json(`${PACKAGE}/binaries/spacetime-vr-2.5.0.image.cdx.json`);
  assert.ok(validate(imageSbom), JSON.stringify(validate.errors));
  const sbom = json(`${PACKAGE}/SBOM.cdx.json`);
  assert.ok(validate(sbom), JSON.stringify(validate.errors));
  const container = sbom.components.find((c: { type: string }) => c.type === 'container');
  assert.is(container.version, image.index);
  const sbomFile = manifest.files.find((f: { path: string }) => f.path === 'binaries/spacetime-vr-2.5.0.image.cdx.json');
  assert.equal(container.externalReferences, [
    {
      type: 'bom',
      url: 'binaries/spacetime-vr-2.5.0.image.cdx.json',
      comment: 'CycloneDX SBOM of the image, per platform',
      hashes: [{ alg: 'SHA-256', content: sbomFile.sha256 }],
    },
  ]);
  // Every file of the layers the build wrote, for each platform.
  const arm = imageSbom.components.find((c: { purl: string }) => /arch=arm64/.test(c.purl));
  const server = arm.components.find((c: { name: string }) => c.name === '/opt/spacetime/spacetime-server');
  assert.is(
    server.hashes[0].content,
    manifest.files.find((f: { path: string }) => f.path === 'binaries/linux/arm64/spacetime-server').sha256,
  );

  // A recipient loads the package's tarball into the Debian engine and runs it.
  sh('/', 'docker rmi -f spacetime-vr:dev');
  const load = sh('/', `docker load -i ${tarball}`);
  assert.match(load.output, /Loaded image: spacetime-vr:dev/);
  assert.is(sh('/', 'docker image inspect --format "{{.Id}}" spacetime-vr:dev').output.trim(), image.id);
  const runIt = sh('/', 'docker run --rm --network none spacetime-vr:dev --smoke');
  assert.is(runIt.output.trim(), 'SpaceTime VR server 2.5.0 ready');
});

test('release:publish pushes the index; skopeo reads back two images under the digest MANIFEST.json records; the chart pins it', () => {
  const repo = tempDir('artifact-repo');
  const run = nx(ws, ['run', 'release:publish', '--snapshot'], {
    ...env,
    ARTIFACT_REPO: `file://${repo}`,
    DOCKER_REGISTRY: registry.address,
  });
  assert.is(run.status, 0, run.output);
  const image = json(`${PACKAGE}/MANIFEST.json`).sections.find((s: { name: string }) => s.name === 'binaries').metadata.image;
  const report = json('dist/release/publish-report.json');
  assert.is(report.image.digest, image.index);
  assert.equal(report.image.manifests, image.manifests);
  assert.match(
    run.output,
    new RegExp(`image ${registry.address}/spacetime-vr:dev @ ${image.index} \\(index of linux/amd64, linux/arm64\\)`),
  );
  const raw = sh('/', `skopeo inspect --raw --tls-verify=false docker://${registry.address}/spacetime-vr:dev`).output;
  assert.is(`sha256:${sha256(raw)}`, image.index);
  assert.equal(
    JSON.parse(raw).manifests.map((m: { digest: string }) => m.digest),
    [image.manifests['linux/amd64'], image.manifests['linux/arm64']],
  );
  const chart = tempDir('chart');
  sh(chart, `tar -xzf ${join(ws, 'dist/release/spacetime-vr-2.5.0.tgz')}`);
  const values = parse(readFileSync(join(chart, 'spacetime-vr/values.yaml'), 'utf8'));
  assert.equal([values.image.registry, values.image.digest], [registry.address, image.index]);
});

test('a platform without its export template: a recorded skip in development, the image of the others; an error in production', () => {
  // Godot reports a missing template in its log and exits 0 (its words, as Godot 3 prints them in godot3.test.ts).
  const bin = tempDir('no-arm64-template');
  const standIn = join(env.PATH!.split(':')[0], 'godot');
  writeFileSync(
    join(bin, 'godot'),
    '#!/bin/sh\ncase "$*" in *"Linux Server arm64"*)\n' +
      `  echo "ERROR: _fs_changed: Cannot export project with preset 'Linux Server arm64' due to configuration errors:"\n` +
      `  echo "No export template found at the expected path: /templates/linux_release.arm64"\n  exit 0;;\nesac\nexec ${standIn} "$@"\n`,
  );
  chmodSync(join(bin, 'godot'), 0o755);
  const noTemplate = { ...env, PATH: `${bin}:${env.PATH}` };
  const run = nx(ws, ['run', 'binaries:image', '--skip-nx-cache'], noTemplate);
  assert.is(run.status, 0, run.output);
  assert.match(run.output, /SKIPPED linux\/arm64\/spacetime-server: preset "Linux Server arm64" has no export template/);
  const exported = json('dist/binaries/server/artifacts.json');
  assert.equal(
    exported.files.map((f: { path: string }) => f.path),
    ['VERSION.txt', 'spacetime-server'],
  );
  assert.equal(
    exported.skipped.map((s: { artifact: string }) => s.artifact),
    ['linux/arm64/spacetime-server'],
  );
  const set = json('dist/binaries/image/artifacts.json');
  assert.equal(set.metadata.image.platforms, ['linux/amd64']);
  assert.equal(
    set.skipped.map((s: { artifact: string }) => s.artifact),
    ['spacetime-vr-2.5.0.tar.gz (linux/arm64)'],
  );
  assert.match(set.skipped[0].reason, /^the export made no linux\/arm64 server \(no export template for preset "Linux Server arm64": /);
  const production = nx(ws, ['run', 'binaries:export:production', '--skip-nx-cache'], noTemplate);
  assert.is.not(production.status, 0, production.output);
  assert.match(
    production.output,
    /Godot export of preset "Linux Server arm64" failed:\n\s+- log: ERROR: _fs_changed: Cannot export project/,
  );
});

test.after(() => {
  registry?.stop();
  sh('/', `docker images --format '{{.Repository}}:{{.Tag}}' | grep '^127.0.0.1:' | xargs -r docker rmi -f`);
  cleanUp();
});
test.run();
