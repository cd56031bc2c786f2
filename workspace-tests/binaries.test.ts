import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeGodot4StandIn } from '../libs/release-kit/test/godot-stand-in';
import { localBaseImage, requireTool } from './engines';
import { cleanUp, copyWorkspace, nx, sh, tasksRun, tempDir } from './workspace';

/**
 * The binaries section through real engines: the Docker engine at DOCKER_HOST or the default
 * socket builds, saves, loads and runs the image. Godot 4 is a STAND-IN (Debian has no Godot 4):
 * a script checking that it gets exactly Godot 4's command line (libs/release-kit/test/godot-stand-in.ts);
 * the real engine path is workspace-tests/godot3.test.ts.
 */
let ws = '';
let env: NodeJS.ProcessEnv = {};
const TARBALL = 'binaries/spacetime-vr-2.5.0.tar.gz';
const docker = (command: string) => sh('/', command);

test.before(() => {
  requireTool('docker', 'apt-get install docker.io');
  ws = copyWorkspace('binaries');
  const bin = writeGodot4StandIn(tempDir('godot4-standin'));
  env = { XDG_CONFIG_HOME: tempDir('signing-keys'), PATH: `${bin}:${process.env.PATH}`, BASE_IMAGE: localBaseImage(), GODOT_BIN: '' };
  for (const tag of ['dev', '2.5.0', 'v2.5.0', 'v2.5', 'v2', 'latest']) docker(`docker rmi -f spacetime-vr:${tag}`);
});

test('release:assemble carries the exported server and the image; MANIFEST.json records image ID, tags and Godot version', () => {
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  assert.ok(tasksRun(run.output).includes('binaries:image:development'), run.output);
  assert.ok(tasksRun(run.output).includes('binaries:export:development'), run.output);
  const pkg = join(ws, 'dist/release/spacetime-vr-v2.5.0');
  const manifest = JSON.parse(readFileSync(join(pkg, 'MANIFEST.json'), 'utf8'));
  assert.equal(manifest.skipped, []);
  const files = new Map(manifest.files.map((f: { path: string; mode: string }) => [f.path, f.mode]));
  assert.is(files.get('binaries/spacetime-server'), '0755');
  assert.is(files.get(TARBALL), '0644');
  assert.is(files.get('binaries/VERSION.txt'), '0644');
  const meta = manifest.sections.find((s: { name: string }) => s.name === 'binaries').metadata;
  assert.equal(meta.godot, {
    artifact: 'spacetime-server',
    checkedFiles: 18,
    mode: 'release',
    preset: 'Linux Server',
    smoke: { args: ['--smoke'], ready: '^SpaceTime VR server 2\\.5\\.0 ready$' },
    version: '4.5.1.stable.official.0standin',
  });
  assert.equal(meta.image.tags, ['spacetime-vr:dev']);
  assert.match(meta.image.id, /^sha256:[0-9a-f]{64}$/);
  assert.ok(meta.image.size > 0);
  assert.is(sh(pkg, 'sha256sum -c SHA256SUMS --quiet').status, 0);

  // A recipient loads the tarball from the package into the engine and runs it.
  const tarball = join(pkg, TARBALL);
  assert.equal([...readFileSync(tarball).subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  docker(`docker rmi -f spacetime-vr:dev`);
  assert.is(docker(`docker image inspect ${meta.image.id}`).status, 1, 'the image should be gone before the load');
  const load = docker(`docker load -i ${tarball}`);
  assert.is(load.status, 0, load.output);
  assert.match(load.output, /Loaded image: spacetime-vr:dev/);
  const inspect = JSON.parse(docker(`docker image inspect spacetime-vr:dev`).output)[0];
  assert.is(inspect.Id, meta.image.id);
  const commit = sh(ws, 'git log -1 --format=%H -- libs/sections/binaries VERSION').output.trim();
  const created = Number(sh(ws, 'git log -1 --format=%ct -- libs/sections/binaries VERSION').output.trim());
  assert.equal(inspect.Config.Labels, {
    'org.opencontainers.image.title': 'spacetime-vr',
    'org.opencontainers.image.version': '2.5.0',
    'org.opencontainers.image.revision': commit,
    'org.opencontainers.image.created': new Date(created * 1000).toISOString().replace('.000Z', 'Z'),
  });
  assert.is(inspect.Config.User, '10001:10001');
  const runIt = docker('docker run --rm --network none spacetime-vr:dev --smoke');
  assert.is(runIt.status, 0, runIt.output);
  assert.is(runIt.output.trim(), 'SpaceTime VR server 2.5.0 ready');
  assert.equal(inspect.Config.Healthcheck.Test, ['CMD', '/opt/spacetime/spacetime-server', '--headless', '--healthcheck']);
  // The image target ran both before it kept the image: the smoke, and the server until healthy.
  const smoke = readFileSync(join(ws, 'dist/binaries/image/image-smoke.log'), 'utf8');
  assert.match(smoke, /^SpaceTime VR server 2\.5\.0 ready$/m);
  assert.match(smoke, /^spacetime-server 2\.5\.0 preset=Linux Server mode=--export-release args=--headless$/m);
});

test(
  "artifacts.json lists the image tarball's size and SHA-256; a tarball changed after the image target ran is refused by name, " +
    'and Nx restores it from its cache',
  () => {
    const tarball = join(ws, 'dist/binaries/image/spacetime-vr-2.5.0.tar.gz');
    const packaged = join(ws, 'dist/release/spacetime-vr-v2.5.0', TARBALL);
    const bytes = readFileSync(tarball);
    const listed = JSON.parse(readFileSync(join(ws, 'dist/binaries/image/artifacts.json'), 'utf8')).files;
    assert.equal(listed, [
      { path: 'spacetime-vr-2.5.0.tar.gz', mode: 0o644, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
    ]);
    assert.is(statSync(packaged).ino, statSync(tarball).ino, 'the package folder links the build output instead of copying it');

    // Written through by hand: the package folder shares the inode, and verification names the file.
    const tampered = Buffer.from(bytes);
    tampered[tampered.length >> 1] ^= 0xff;
    writeFileSync(tarball, tampered);
    const verify = nx(ws, ['run', 'release:verify'], env);
    assert.is.not(verify.status, 0, verify.output);
    assert.match(verify.output, /binaries\/spacetime-vr-2\.5\.0\.tar\.gz/);
    const repack = nx(ws, ['run', 'binaries:package', '--exclude-task-dependencies'], env);
    assert.is.not(repack.status, 0, repack.output);
    assert.match(
      repack.output,
      /dist\/binaries\/image\/spacetime-vr-2\.5\.0\.tar\.gz: has SHA-256 [0-9a-f]{64}, not the [0-9a-f]{64} listed: it changed after the target that built it wrote artifacts\.json\n\s+hint: rebuild it: run the target that writes dist\/binaries\/image with --skip-nx-cache/,
    );

    // With its build targets in the graph, Nx restores their outputs from its cache before packaging.
    const rebuilt = nx(ws, ['run', 'release:assemble'], env);
    assert.is(rebuilt.status, 0, rebuilt.output);
    assert.ok(readFileSync(packaged).equals(bytes));
    assert.is(statSync(packaged).ino, statSync(tarball).ino);
    assert.is(nx(ws, ['run', 'release:verify'], env).status, 0);
  },
);

test("Nx's cache restore replaces a build output instead of writing through it, so the package folder's link keeps its bytes", () => {
  const tarball = join(ws, 'dist/binaries/image/spacetime-vr-2.5.0.tar.gz');
  const packaged = join(ws, 'dist/release/spacetime-vr-v2.5.0', TARBALL);
  const before = statSync(packaged);
  assert.is(before.ino, statSync(tarball).ino);
  // Without the daemon, Nx cannot tell that the outputs match its cache: it restores them.
  const restored = nx(ws, ['run', 'binaries:image:development'], { ...env, NX_DAEMON: 'false' });
  assert.is(restored.status, 0, restored.output);
  assert.match(restored.output, /local cache/);
  assert.is.not(statSync(tarball).ino, before.ino, 'a restore that wrote through the old file would change the package folder too');
  const after = statSync(packaged);
  assert.equal([after.ino, after.size, after.mtimeMs], [before.ino, before.size, before.mtimeMs]);
  assert.ok(readFileSync(packaged).equals(readFileSync(tarball)));
});

test('production: release tags on the image; no Godot 4 or no engine is an error, not a skip', () => {
  const image = nx(ws, ['run', 'binaries:image:production'], { ...env, SOURCE_DATE_EPOCH: '1700000000' });
  assert.is(image.status, 0, image.output);
  const set = JSON.parse(readFileSync(join(ws, 'dist/binaries/image/artifacts.json'), 'utf8'));
  assert.equal(set.metadata.image.tags, [
    'spacetime-vr:2.5.0',
    'spacetime-vr:v2.5.0',
    'spacetime-vr:v2.5',
    'spacetime-vr:v2',
    'spacetime-vr:latest',
  ]);
  const labels = JSON.parse(docker('docker image inspect spacetime-vr:latest').output)[0].Config.Labels;
  assert.is(labels['org.opencontainers.image.created'], '2023-11-14T22:13:20Z');

  const noDocker = nx(ws, ['run', 'binaries:image:production', '--exclude-task-dependencies'], {
    ...env,
    DOCKER_HOST: 'unix:///tmp/no-engine.sock',
  });
  assert.is.not(noDocker.status, 0);
  assert.match(
    noDocker.output,
    /cannot build the Docker image: no Docker engine answers at unix:\/\/\/tmp\/no-engine\.sock \(DOCKER_HOST\)/,
  );
  const noGodot = nx(ws, ['run', 'binaries:export:production'], { ...env, PATH: '/usr/bin:/bin' });
  assert.is.not(noGodot.status, 0);
  assert.match(noGodot.output, /cannot export the server: (no Godot engine|the project needs Godot 4)/);
});

test.after(cleanUp);
test.run();
