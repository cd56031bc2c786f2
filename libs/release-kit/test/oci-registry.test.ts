import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dockerClient } from '../src/build/docker-image';
import { buildReleaseImage, ReleaseImageOptions } from '../src/build/image-build';
import { pushImage } from '../src/publish/registry-push';
import { busyboxBase } from '../../../workspace-tests/oci-base';
import { requireTool } from '../../../workspace-tests/engines';
import { RegistryServer, startRegistry } from '../../../workspace-tests/registry-server';
import { cleanTempDirs, tool, toolStatus } from './helpers';
import { imageWorkspace } from './oci-fixtures';

/**
 * The daemonless image and a real registry (Debian's docker-registry on loopback): the index and
 * both manifests are pushed by digest, then the tags, and read back with skopeo; a base image is
 * taken from the registry by digest.
 */

let registry: RegistryServer;
let readOnly: RegistryServer;
let built: ReleaseImageOptions;
const TARBALL = 'spacetime-vr-2.5.0.tar.gz';
const image = (o: ReleaseImageOptions) => JSON.parse(readFileSync(join(o.outputDir, 'artifacts.json'), 'utf8')).metadata.image;
const raw = (reference: string) => tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reference}`]);
const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

test.before(async () => {
  for (const command of ['docker-registry', 'skopeo', 'docker']) requireTool(command, `apt-get install ${command}`);
  registry = await startRegistry();
  readOnly = await startRegistry({ readOnly: true });
  // No engine: the image is built all the same (its run is a recorded skip), and these tests need no run.
  built = await imageWorkspace(undefined, { env: { ...process.env, DOCKER_HOST: 'unix:///tmp/no-docker-here.sock' } });
  await buildReleaseImage(built);
});

const push = (address: string, tags: string[], log: string[] = []) =>
  pushImage({
    docker: dockerClient(process.env),
    registry: address,
    imageId: image(built).id,
    tarball: join(built.outputDir, TARBALL),
    repository: 'spacetime-vr',
    tags,
    log: (line) => log.push(line),
  });

test('every blob, both manifests and the index go up by digest, then the tags; skopeo reads back the index of two images', async () => {
  const log: string[] = [];
  const pushed = await push(registry.address, ['2.5.0', 'latest'], log);
  const recorded = image(built);
  assert.is(pushed.digest, recorded.index);
  assert.equal(pushed.manifests, recorded.manifests);
  assert.equal(pushed.references, [`${registry.address}/spacetime-vr:2.5.0`, `${registry.address}/spacetime-vr:latest`]);
  assert.ok(
    log.some((l) => l === `pushed ${registry.address}/spacetime-vr:2.5.0@${recorded.index} (index of linux/amd64, linux/arm64)`),
    log.join('\n'),
  );
  for (const tag of ['2.5.0', 'latest']) {
    const index = raw(`${registry.address}/spacetime-vr:${tag}`);
    assert.is(digestOf(index), recorded.index);
    assert.equal(
      JSON.parse(index).manifests.map((m: { digest: string; platform: { architecture: string } }) => [m.platform.architecture, m.digest]),
      [
        ['amd64', recorded.manifests['linux/amd64']],
        ['arm64', recorded.manifests['linux/arm64']],
      ],
    );
  }
  // Each platform's image is there by digest, with its config.
  const arm = JSON.parse(
    tool('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.address}/spacetime-vr@${recorded.manifests['linux/arm64']}`]),
  );
  assert.is(arm.Architecture, 'arm64');
  // Pushing again sends nothing new.
  const again: string[] = [];
  await push(registry.address, ['2.5.0'], again);
  assert.ok(
    again.some((l) => /^pushed \d+ blobs to .* \(0\.0 MiB sent, the rest already there\)$/.test(l)),
    again.join('\n'),
  );
});

test('a registry that refuses pushes fails the publish, naming the registry and what it refused', async () => {
  await push(readOnly.address, ['dev']).then(
    () => assert.unreachable('a read-only registry must refuse'),
    (e: Error) =>
      assert.match(
        e.message,
        new RegExp(
          `^DOCKER_REGISTRY: the registry ${readOnly.address} refused the push of blob sha256:[0-9a-f]{64}: ` +
            'POST spacetime-vr blob upload with HTTP 405',
        ),
      ),
  );
});

test('a base image taken from a registry by digest gives the image the layout gives', async () => {
  const base = busyboxBase();
  toolStatus('skopeo', ['copy', '--all', '--dest-tls-verify=false', `oci:${base.folder}`, `docker://${registry.address}/busybox:stable`]);
  assert.is(digestOf(raw(`${registry.address}/busybox:stable`)), base.index, 'skopeo kept the index as it is');
  const o = await imageWorkspace(undefined, {
    baseImage: `${registry.address}/busybox:stable@${base.index}`,
    env: { ...process.env, DOCKER_HOST: 'unix:///tmp/no-docker-here.sock' },
  });
  const logged: string[] = [];
  await buildReleaseImage({ ...o, log: (l) => logged.push(l) });
  assert.ok(
    logged.some((l) => l.startsWith(`pulling ${registry.address}/busybox@sha256:`)),
    logged.join('\n'),
  );
  const layers = (b: ReleaseImageOptions, arch: string) =>
    JSON.parse(tool('skopeo', ['inspect', '--override-arch', arch, `oci-archive:${join(b.outputDir, TARBALL)}`])).Layers as string[];
  assert.equal(layers(o, 'arm64'), layers(built, 'arm64'));
  assert.equal(image(o).base, {
    name: `${registry.address}/busybox:stable@${base.index}`,
    id: base.index,
    manifests: image(built).base.manifests,
  });
  // A second build reads the blobs from the cache: nothing is pulled.
  const second: string[] = [];
  await buildReleaseImage({ ...o, log: (l) => second.push(l) });
  assert.not.ok(
    second.some((l) => l.startsWith('pulling ')),
    second.join('\n'),
  );
});

test.after(() => {
  registry?.stop();
  readOnly?.stop();
  cleanTempDirs();
});
test.run();
