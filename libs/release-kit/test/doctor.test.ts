import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as openpgp from 'openpgp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { developmentKeyPath, resolveSigner } from '../src/assemble/signing';
import { Check, DockerImageTarget, DoctorInput, GodotExportTarget } from '../src/doctor/check';
import { baseImageOf } from '../src/build/docker-image';
import { checkDocker } from '../src/doctor/docker-check';
import { refuseErrors, runDoctor } from '../src/doctor/doctor';
import { checkEngines } from '../src/doctor/engine-check';
import { doctorJson, formatDoctor } from '../src/doctor/format';
import { checkPublishing } from '../src/doctor/publishing-check';
import { checkSigning } from '../src/doctor/signing-check';
import { requireTool } from '../../../workspace-tests/engines';
import { busyboxBase } from '../../../workspace-tests/oci-base';
import { startRegistry } from '../../../workspace-tests/registry-server';
import { cleanTempDirs, tempDir, toolStatus, writeTree } from './helpers';
import { writeGodot4StandIn } from './godot-stand-in';
import { DOCKERFILE } from './oci-fixtures';
import { startS3Server } from './s3-server';

const root = tempDir('doctor-workspace');

function input(over: Partial<DoctorInput> = {}): DoctorInput {
  return { mode: 'development', workspaceRoot: root, version: '2.5.0', exports: [], images: [], publish: {}, env: {}, ...over };
}

function find(checks: Check[], name: string): Check {
  const check = checks.find((c) => c.name.endsWith(name));
  assert.ok(check, `no check "${name}" in ${JSON.stringify(checks)}`);
  return check!;
}

/** A Godot project with one "Linux Server" preset: Godot 4 (config_version=5, targets 4.5) or Godot 3. */
function godotProject(major: 3 | 4, options = ''): string {
  const dir = tempDir(`godot${major}-project`);
  writeTree(dir, {
    'project.godot': major === 4 ? 'config_version=5\n\n[application]\n\nconfig/features=PackedStringArray("4.5")\n' : 'config_version=4\n',
    'export_presets.cfg':
      `[preset.0]\n\nname="Linux Server"\nplatform="${major === 4 ? 'Linux' : 'Linux/X11'}"\nexport_path=""\n\n` +
      `[preset.0.options]\n\ncustom_template/debug=""\n${options}\n`,
  });
  return dir;
}

function exportOf(projectDir: string, over: Partial<GodotExportTarget> = {}): GodotExportTarget {
  return {
    target: 'binaries:export',
    projectDir,
    preset: 'Linux Server',
    platformPresets: [],
    mode: 'release',
    outputPath: 'dist/binaries/server',
    ...over,
  };
}

/** Appends a further platform's preset to a project's export_presets.cfg. */
function addPreset(projectDir: string, name: string, architecture: string, options = ''): void {
  const file = join(projectDir, 'export_presets.cfg');
  const index = (readFileSync(file, 'utf8').match(/^\[preset\.\d+\]$/gm) ?? []).length;
  appendFileSync(
    file,
    `\n[preset.${index}]\n\nname="${name}"\nplatform="Linux"\nexport_path=""\n\n` +
      `[preset.${index}.options]\n\ncustom_template/debug=""\nbinary_format/architecture="${architecture}"\n${options}\n`,
  );
}

function imageOf(dockerfile: string, over: Partial<DockerImageTarget> = {}): DockerImageTarget {
  return {
    target: 'binaries:image',
    dockerfile,
    contextPath: 'dist/binaries/server',
    builder: 'auto',
    platforms: ['linux/amd64', 'linux/arm64'],
    ...over,
  };
}

/** PATH with only the given folder, node (the stand-in's interpreter) and /usr/bin, where Godot 3 is. */
function engineEnv(first?: string): NodeJS.ProcessEnv {
  const home = tempDir('doctor-home');
  return {
    PATH: [first, dirname(process.execPath), '/usr/bin', '/bin'].filter(Boolean).join(':'),
    HOME: home,
    XDG_DATA_HOME: join(home, 'data'),
  };
}

test('engine: the Godot 4 stand-in found as the build finds it; its release template missing, then installed', () => {
  const env = engineEnv(writeGodot4StandIn(tempDir('godot4')));
  const target = exportOf(godotProject(4));
  const missing = checkEngines(input({ exports: [target], env }));
  assert.match(
    find(missing.checks, 'engine').found,
    /^Godot 4\.5\.1\.stable\.official\.0standin at .*\/godot \(from PATH \(godot\)\); the project needs Godot 4\.5$/,
  );
  const template = join(env.XDG_DATA_HOME!, 'godot/export_templates/4.5.1.stable/linux_release.x86_64');
  const templateCheck = find(missing.checks, 'export template');
  assert.is(templateCheck.status, 'error');
  assert.match(templateCheck.found, `${template} is missing: the export of "Linux Server" (release) fails`);
  assert.match(templateCheck.fix!, 'install the export templates of Godot 4.5.1.stable into');
  assert.equal(missing.exported, []);

  mkdirSync(dirname(template), { recursive: true });
  writeFileSync(template, 'template');
  const installed = checkEngines(input({ exports: [target], env, mode: 'production' }));
  assert.equal(
    installed.checks.map((c) => [c.name, c.status]),
    [
      ['binaries:export preset', 'ok'],
      ['binaries:export engine', 'ok'],
      ['binaries:export export template', 'ok'],
    ],
  );
  assert.equal(installed.exported, ['dist/binaries/server']);
  // Debug exports read the debug template; a pack export reads none.
  assert.match(
    find(checkEngines(input({ exports: [{ ...target, mode: 'debug' }], env })).checks, 'template').found,
    /linux_debug\.x86_64 is missing/,
  );
  assert.not.ok(checkEngines(input({ exports: [{ ...target, mode: 'pack' }], env })).checks.some((c) => c.name.endsWith('template')));
});

test('engine: a custom_template/release overrides the installed templates, relative to the project', () => {
  const env = engineEnv(writeGodot4StandIn(tempDir('godot4')));
  const project = godotProject(4, 'custom_template/release="templates/server.x86_64"');
  const missing = find(checkEngines(input({ exports: [exportOf(project)], env })).checks, 'export template');
  assert.is(missing.status, 'error');
  assert.match(missing.found, `custom_template/release names ${join(project, 'templates/server.x86_64')} is missing`);
  writeTree(project, { 'templates/server.x86_64': 'custom' });
  assert.is(find(checkEngines(input({ exports: [exportOf(project)], env })).checks, 'export template').status, 'ok');
});

test('engine: only Godot 3 for a Godot 4 project is a skip in development and an error in production', () => {
  const env = { ...engineEnv(), GODOT_BIN: '' };
  const target = exportOf(godotProject(4));
  const dev = checkEngines(input({ exports: [target], env }));
  const engine = find(dev.checks, 'engine');
  assert.is(engine.status, 'warning');
  assert.match(
    engine.found,
    /^the project needs Godot 4: \/usr\/bin\/godot3 from PATH \(godot3\) is Godot 3\.2\.3\.stable\.custom_build: the export will be skipped/,
  );
  assert.match(engine.fix!, /install Godot 4\.5 .* set GODOT_BIN/);
  assert.equal(dev.exported, []);
  const production = find(checkEngines(input({ exports: [target], env, mode: 'production' })).checks, 'engine');
  assert.is(production.status, 'error');
  assert.match(production.found, /: the export fails$/);
  // GODOT_BIN is used as given, like the build uses it.
  const explicit = find(checkEngines(input({ exports: [target], env: { ...env, GODOT_BIN: '/usr/bin/godot3' } })).checks, 'engine');
  assert.match(explicit.found, 'the project needs Godot 4: /usr/bin/godot3 from GODOT_BIN is Godot 3.2.3');
});

test('engine: real Godot 3 for a Godot 3 project, with Godot 3 template names; an older Godot 4 minor is a warning', () => {
  const env = engineEnv();
  const godot3 = checkEngines(input({ exports: [exportOf(godotProject(3))], env }));
  assert.match(find(godot3.checks, 'engine').found, /^Godot 3\.2\.3\.stable\.custom_build at \/usr\/bin\/godot3/);
  assert.match(
    find(godot3.checks, 'export template').found,
    `${env.XDG_DATA_HOME}/godot/templates/3.2.3.stable/linux_x11_64_release is missing`,
  );

  const older = engineEnv(writeGodot4StandIn(tempDir('godot43'), '4.3.stable.official.77dcf97d8'));
  const checks = checkEngines(input({ exports: [exportOf(godotProject(4))], env: older, mode: 'production' })).checks;
  assert.is(find(checks, 'engine').status, 'warning');
  assert.match(find(checks, 'engine').found, "older than the project's Godot 4.5: the export runs with it");
  assert.match(find(checks, 'export template').found, '/godot/export_templates/4.3.stable/linux_release.x86_64');
});

test('engine: an unknown preset is an error in every mode, before any engine is looked for', () => {
  const checks = checkEngines(input({ exports: [exportOf(godotProject(4), { preset: 'Nope' })], env: engineEnv() })).checks;
  assert.equal(
    checks.map((c) => [c.name, c.status]),
    [['binaries:export preset', 'error']],
  );
  assert.match(checks[0].found, 'has no preset "Nope" (it has "Linux Server")');
});

test("engine: each platform preset's export template is checked; a missing one skips that platform in development only", () => {
  const env = engineEnv(writeGodot4StandIn(tempDir('godot4')));
  const project = godotProject(4);
  addPreset(project, 'Linux Server arm64', 'arm64');
  const target = exportOf(project, { platformPresets: ['Linux Server arm64'] });
  const templates = join(env.XDG_DATA_HOME!, 'godot/export_templates/4.5.1.stable');
  mkdirSync(templates, { recursive: true });
  writeFileSync(join(templates, 'linux_release.x86_64'), 'template');

  const dev = checkEngines(input({ exports: [target], env }));
  assert.equal(
    dev.checks.map((c) => [c.name, c.status]),
    [
      ['binaries:export preset', 'ok'],
      ['binaries:export engine', 'ok'],
      ['binaries:export export template', 'ok'],
      ['binaries:export "Linux Server arm64" export template', 'warning'],
    ],
  );
  assert.match(dev.checks[0].found, '"Linux Server" (Linux, release), then "Linux Server arm64" (linux/arm64) in ');
  const arm64 = dev.checks[3];
  assert.match(
    arm64.found,
    `${join(templates, 'linux_release.arm64')} is missing: the linux/arm64 server (preset "Linux Server arm64", release) will be skipped`,
  );
  assert.match(arm64.fix!, `install the export templates of Godot 4.5.1.stable into ${templates}`);
  assert.equal(dev.exported, ['dist/binaries/server'], 'the main server is still exported');

  const production = checkEngines(input({ exports: [target], env, mode: 'production' }));
  const refused = find(production.checks, '"Linux Server arm64" export template');
  assert.is(refused.status, 'error');
  assert.match(refused.found, `${join(templates, 'linux_release.arm64')} is missing: the export of "Linux Server arm64" (release) fails`);
  assert.equal(production.exported, []);

  writeFileSync(join(templates, 'linux_release.arm64'), 'template');
  const installed = checkEngines(input({ exports: [target], env, mode: 'production' }));
  assert.equal(
    installed.checks.map((c) => c.status),
    ['ok', 'ok', 'ok', 'ok'],
  );
  assert.is(find(installed.checks, '"Linux Server arm64" export template').found, join(templates, 'linux_release.arm64'));

  // A platform preset's custom template that is missing fails its export in every mode (Godot says no "No export template found").
  const custom = godotProject(4);
  addPreset(custom, 'Linux Server arm64', 'arm64', 'custom_template/release="templates/arm64.bin"');
  const customCheck = find(
    checkEngines(input({ exports: [exportOf(custom, { platformPresets: ['Linux Server arm64'] })], env })).checks,
    '"Linux Server arm64" export template',
  );
  assert.is(customCheck.status, 'error');
  assert.match(customCheck.found, `custom_template/release names ${join(custom, 'templates/arm64.bin')} is missing`);
});

test('engine: platform presets the export refuses are errors in every mode, before any engine is looked for', () => {
  const env = engineEnv();
  const project = godotProject(4);
  addPreset(project, 'Linux Server x86', 'x86_64');
  const refused = (platformPresets: string[], mode: GodotExportTarget['mode'] = 'release') => {
    const checks = checkEngines(input({ exports: [exportOf(project, { platformPresets, mode })], env })).checks;
    assert.equal(
      checks.map((c) => [c.name, c.status]),
      [['binaries:export preset', 'error']],
    );
    return checks[0];
  };
  assert.match(refused(['Nope']).found, 'has no export preset "Nope" (platformPresets); it has: "Linux Server", "Linux Server x86"');
  const twice = refused(['Linux Server x86']);
  assert.match(twice.found, 'presets "Linux Server" and "Linux Server x86" both export linux/amd64: one preset per platform');
  assert.is(twice.fix, 'set binary_format/architecture of each preset');
  assert.match(refused(['Linux Server x86'], 'pack').found, 'platformPresets are Linux binary exports, one per container platform');
});

test('docker: the base image comes from the option, BASE_IMAGE or the Dockerfile default, FROM with its ARGs', () => {
  const dockerfile = 'ARG BASE_IMAGE=debian:bookworm-slim\nARG TAG=1\nFROM --platform=linux/amd64 ${BASE_IMAGE}\nFROM other:$TAG\n';
  assert.is(baseImageOf(dockerfile, undefined), 'debian:bookworm-slim');
  assert.is(baseImageOf(dockerfile, 'mirror.example/debian:12'), 'mirror.example/debian:12');
  assert.is(baseImageOf('ARG TAG=3.19\nFROM alpine:$TAG\n', undefined), 'alpine:3.19');
  assert.is(baseImageOf('FROM scratch\n', undefined), 'scratch');
  assert.is(baseImageOf('ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n', undefined), undefined);
});

const PRESENT = 'spacetime-doctor-test:present';

test('docker: an answering engine, a base image it has, one nobody can pull, and an address where nothing listens', async () => {
  execFileSync('bash', ['-c', `tar -c -T /dev/null | docker import - ${PRESENT}`], { stdio: 'ignore' });
  const dir = tempDir('doctor-docker');
  writeFileSync(join(dir, 'Dockerfile'), 'ARG BASE_IMAGE=spacetime-doctor-test:absent\nFROM ${BASE_IMAGE}\n');
  const image = imageOf(join(dir, 'Dockerfile'));

  const present = await checkDocker(input({ images: [image], env: { BASE_IMAGE: PRESENT } }), ['dist/binaries/server']);
  assert.equal(
    present.map((c) => [c.name, c.status]),
    [
      ['engine', 'ok'],
      ['binaries:image base image', 'ok'],
    ],
  );
  assert.match(present[0].found, /^Docker \S+ answers at unix:\/\/\/var\/run\/docker\.sock/);
  assert.match(present[1].found, `${PRESENT} (BASE_IMAGE) is in the engine (sha256:`);

  // Not in the engine and not in any registry it reaches: the build fails, unless its export is skipped anyway.
  const absent = (await checkDocker(input({ images: [image] }), ['dist/binaries/server']))[1];
  assert.is(absent.status, 'error');
  assert.match(absent.found, /^spacetime-doctor-test:absent \(the default in .*Dockerfile\) is not in the engine and cannot be pulled: /);
  assert.match(absent.fix!, 'docker pull spacetime-doctor-test:absent');
  const skipped = (await checkDocker(input({ images: [image] }), []))[1];
  assert.is(skipped.status, 'warning');
  assert.match(skipped.found, 'the image build is skipped anyway (its export writes no server binary)');

  const nothing = { DOCKER_HOST: 'unix:///tmp/nothing.sock' };
  const dev = await checkDocker(input({ images: [image], env: nothing }), ['dist/binaries/server']);
  assert.equal(
    dev.map((c) => [c.name, c.status]),
    [
      ['engine', 'warning'],
      ['binaries:image base image', 'warning'],
    ],
  );
  assert.match(
    dev[0].found,
    /^no Docker engine answers at unix:\/\/\/tmp\/nothing\.sock \(DOCKER_HOST\): .*ENOENT.*the image build will be skipped/,
  );
  assert.match(dev[0].fix!, 'start dockerd');
  const production = await checkDocker(input({ images: [image], env: nothing, mode: 'production' }), []);
  assert.equal(
    production.map((c) => c.status),
    ['error', 'error'],
  );
  assert.match(production[0].found, 'the image build fails');
});

const BOTH = 'linux/amd64, linux/arm64';

/** Where nothing listens: the image built from files needs no engine to have its base checked. */
const NO_ENGINE = 'unix:///tmp/no-docker-for-the-doctor.sock';

/** The base check of an image target the daemonless build makes (the Dockerfile adds files only), its base from `env`. */
async function filesBase(env: NodeJS.ProcessEnv, over: Partial<DockerImageTarget> = {}, more: Partial<DoctorInput> = {}) {
  const dir = tempDir('doctor-files');
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  const image = imageOf(join(dir, 'Dockerfile'), over);
  const checks = await checkDocker(
    input({ images: [image], env: { HOME: tempDir('doctor-home'), DOCKER_HOST: NO_ENGINE, ...env }, ...more }),
    ['dist/binaries/server'],
  );
  assert.is(checks.length, 2);
  return { engine: checks[0], base: checks[1] };
}

test('docker, built from files: an OCI layout holding the pinned index is checked without the engine; an absent digest fails', async () => {
  const base = busyboxBase();
  const layoutText = `oci-layout://layout@${base.index}`;
  const { engine, base: found } = await filesBase({ BASE_IMAGE: base.reference });
  assert.is(engine.status, 'warning');
  assert.match(engine.found, 'the image is built from files, but its run before it is kept will be skipped');
  assert.is(found.status, 'ok', found.found);
  assert.is(found.stage, 'build');
  assert.is(
    found.found,
    `${layoutText} (BASE_IMAGE): the layout holds it, an index of ${BOTH}; the daemonless build takes ${BOTH} from it`,
  );

  // A digest the layout does not hold: the build fails (an error), unless its export is skipped anyway in development.
  const absent = `sha256:${'0'.repeat(64)}`;
  const missing = (await filesBase({ BASE_IMAGE: `oci-layout://${base.folder}@${absent}` })).base;
  assert.is(missing.status, 'error');
  assert.match(missing.found, new RegExp(`^oci-layout://layout@${absent} \\(BASE_IMAGE\\): \\S*layout: has no blob ${absent}$`));
  assert.is(
    missing.fix,
    `copy the base into the layout (skopeo copy --all docker://<image>@${absent} oci:${base.folder}), or pin a digest the layout's index.json names`,
  );
  const dir = tempDir('doctor-files');
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  const env = { BASE_IMAGE: `oci-layout://${base.folder}@${absent}`, DOCKER_HOST: NO_ENGINE };
  const skipped = (await checkDocker(input({ images: [imageOf(join(dir, 'Dockerfile'))], env }), []))[1];
  assert.is(skipped.status, 'warning');
  assert.match(skipped.found, 'the image build is skipped anyway (its export writes no server binary)');

  // A folder that is no layout, a platform the index lacks, and one platform's manifest pinned for two platforms.
  const notLayout = tempDir('doctor-not-a-layout');
  const noLayout = (await filesBase({ BASE_IMAGE: `oci-layout://${notLayout}@${base.index}` })).base;
  assert.is(noLayout.status, 'error');
  assert.match(noLayout.found, 'is not an OCI image layout (it has no oci-layout file)');
  const arm = (await filesBase({ BASE_IMAGE: base.reference }, { platforms: ['linux/amd64', 'linux/arm/v7'] })).base;
  assert.is(arm.status, 'error');
  assert.match(arm.found, 'the base image has no linux/arm/v7 image; it has: linux/amd64, linux/arm64');
  const index = JSON.parse(readFileSync(join(base.folder, 'blobs/sha256', base.index.slice(7)), 'utf8'));
  const amd64 = index.manifests.find((m: { platform: { architecture: string } }) => m.platform.architecture === 'amd64').digest;
  const single = (await filesBase({ BASE_IMAGE: `oci-layout://${base.folder}@${amd64}` })).base;
  assert.is(single.status, 'error');
  assert.match(single.found, 'the base image is a single image: it cannot serve linux/amd64 and linux/arm64');
  assert.match(single.fix!, 'pin the digest of its index');
  // A layout holding the index but not every blob of its images: the build fails reading it.
  const partial = join(tempDir('doctor-partial-layout'), 'layout');
  cpSync(base.folder, partial, { recursive: true });
  const arm64 = index.manifests.find((m: { platform: { architecture: string } }) => m.platform.architecture === 'arm64').digest;
  const layer = JSON.parse(readFileSync(join(partial, 'blobs/sha256', arm64.slice(7)), 'utf8')).layers[0].digest;
  rmSync(join(partial, 'blobs/sha256', layer.slice(7)));
  const lacking = (await filesBase({ BASE_IMAGE: `oci-layout://${partial}@${base.index}` })).base;
  assert.is(lacking.status, 'error');
  assert.match(lacking.found, `layout: has no blob ${layer}, which the base image oci-layout://layout@${base.index} needs`);
  const one = (await filesBase({ BASE_IMAGE: `oci-layout://${base.folder}@${amd64}` }, { platforms: ['linux/amd64'] })).base;
  assert.is(one.status, 'ok', one.found);
  assert.match(one.found, 'the layout holds it, a single image; the daemonless build takes linux/amd64 from it');
});

test('docker, built from files: a registry answering for the digest, one without it, one that does not answer, the cache', async () => {
  requireTool('docker-registry', 'apt-get install docker-registry');
  requireTool('skopeo', 'apt-get install skopeo');
  const base = busyboxBase();
  const registry = await startRegistry();
  try {
    toolStatus('skopeo', ['copy', '--all', '--dest-tls-verify=false', `oci:${base.folder}`, `docker://${registry.address}/busybox:stable`]);
    const pinned = `${registry.address}/busybox:stable@${base.index}`;
    const answers = (await filesBase({ BASE_IMAGE: pinned })).base;
    assert.is(answers.status, 'ok', answers.found);
    assert.is(
      answers.found,
      `${pinned} (BASE_IMAGE): ${registry.address} answers for it, an index of ${BOTH}; the daemonless build takes ${BOTH} from it`,
    );
    const absent = `sha256:${'0'.repeat(64)}`;
    for (const mode of ['development', 'production'] as const) {
      const missing = (await filesBase({ BASE_IMAGE: `${registry.address}/busybox@${absent}` }, {}, { mode })).base;
      assert.is(missing.status, 'error', mode);
      assert.match(missing.found, `the registry ${registry.address} answered GET busybox manifest ${absent} with HTTP 404`);
      assert.match(missing.fix!, `pin a digest ${registry.address} has`);
    }
  } finally {
    registry.stop();
  }

  // Nothing listens: a recorded skip in development, an error of the build in production.
  const closed = `127.0.0.1:1/busybox@${base.index}`;
  const dev = (await filesBase({ BASE_IMAGE: closed })).base;
  assert.is(dev.status, 'warning');
  assert.match(dev.found, `${closed} (BASE_IMAGE) not checked: the registry 127.0.0.1:1 does not answer at http://127.0.0.1:1: `);
  assert.match(dev.found, 'the image build will be skipped (recorded in MANIFEST.json)');
  assert.match(dev.fix!, `skopeo copy --all docker://127.0.0.1:1/busybox@${base.index} oci:<folder>`);
  const production = (await filesBase({ BASE_IMAGE: closed }, {}, { mode: 'production' })).base;
  assert.equal([production.status, production.stage], ['error', 'build']);
  assert.match(production.found, 'the image build fails');

  // Every blob of both platforms in the base image cache: the build needs no registry, and neither does the doctor.
  const cache = join(root, 'node_modules/.cache/spacetime-base-images/blobs');
  mkdirSync(cache, { recursive: true });
  cpSync(join(base.folder, 'blobs'), cache, { recursive: true });
  try {
    const cached = (await filesBase({ BASE_IMAGE: closed }, {}, { mode: 'production' })).base;
    assert.is(cached.status, 'ok', cached.found);
    assert.match(cached.found, `${closed} (BASE_IMAGE): the cache holds every blob of it (node_modules/.cache/spacetime-base-images)`);
  } finally {
    rmSync(join(root, 'node_modules'), { recursive: true, force: true });
  }
});

test('docker: the path image-build.ts chooses decides the check: builder files refuses RUN; builder engine asks the engine', async () => {
  const base = busyboxBase();
  const env = { BASE_IMAGE: base.reference, DOCKER_HOST: NO_ENGINE };
  const dir = tempDir('doctor-paths');
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE.replace('WORKDIR /opt/spacetime\n', 'WORKDIR /opt/spacetime\nRUN echo built\n'));
  const run = imageOf(join(dir, 'Dockerfile'), { builder: 'files' });
  const [, refused] = await checkDocker(input({ images: [run], env }), ['dist/binaries/server']);
  assert.is(refused.status, 'error');
  assert.match(refused.found, /^the image cannot be built: .*Dockerfile:6: RUN .*the daemonless build only adds files/);
  assert.match(refused.fix!, 'set the image target\'s builder option to "engine"');
  // auto takes the engine for it, and so does the doctor: today's check, which needs the engine.
  const [engine, auto] = await checkDocker(input({ images: [{ ...run, builder: 'auto' }], env }), ['dist/binaries/server']);
  assert.match(engine.found, 'the image build will be skipped (recorded in MANIFEST.json)');
  assert.is(auto.status, 'warning');
  assert.match(auto.found, `oci-layout://${base.folder}@${base.index} (BASE_IMAGE) not checked: no Docker engine answers`);
  const pinnedByEngine = imageOf(join(dir, 'Dockerfile'), { builder: 'engine' });
  assert.match((await checkDocker(input({ images: [pinnedByEngine], env }), []))[1].found, 'not checked: no Docker engine answers');
});

async function releaseKey(dir: string, passphrase: string): Promise<{ file: string; armored: string }> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Release', email: 'release@example.invalid' }],
    passphrase,
    format: 'armored',
  });
  const file = join(dir, 'release-key.asc');
  writeFileSync(file, privateKey, { mode: 0o600 });
  return { file, armored: privateKey };
}

test('signing: the development key is reported, never made; production refuses it', async () => {
  const env = { XDG_CONFIG_HOME: tempDir('doctor-config') };
  const [absent] = await checkSigning(input({ env }));
  assert.is(absent.status, 'warning');
  assert.match(absent.found, `no release key: the first build creates the development key at ${developmentKeyPath(env)}`);
  assert.not.ok(existsSync(developmentKeyPath(env)), 'the doctor made the development key');
  const [refused] = await checkSigning(input({ env, mode: 'production' }));
  assert.is(refused.status, 'error');
  assert.match(refused.fix!, 'set RELEASE_SIGNING_KEY (+ RELEASE_SIGNING_PASSPHRASE) or GPG_KEY_ID');

  const made = await resolveSigner(env);
  const [present] = await checkSigning(input({ env }));
  assert.is(present.status, 'warning');
  assert.match(present.found, `the development key ${made.fingerprint} (${developmentKeyPath(env)}), not fit for production`);
});

test('signing: RELEASE_SIGNING_KEY that unlocks, a wrong passphrase, garbage; no key material or passphrase in the report', async () => {
  const dir = tempDir('doctor-keys');
  const passphrase = 'correct horse battery staple';
  const wrong = 'wrong-guess-42';
  const key = await releaseKey(dir, passphrase);
  const [loads] = await checkSigning(
    input({ env: { RELEASE_SIGNING_KEY: key.file, RELEASE_SIGNING_PASSPHRASE: passphrase }, mode: 'production' }),
  );
  assert.is(loads.status, 'ok');
  assert.match(loads.found, /^RELEASE_SIGNING_KEY: [0-9A-F]{40} loads and unlocks$/);

  const [locked] = await checkSigning(input({ env: { RELEASE_SIGNING_KEY: key.file, RELEASE_SIGNING_PASSPHRASE: wrong } }));
  assert.is(locked.status, 'error');
  assert.match(locked.found, `${key.file}: RELEASE_SIGNING_PASSPHRASE does not unlock this key: every build stops on it`);
  assert.match(locked.fix!, 'RELEASE_SIGNING_PASSPHRASE');

  writeFileSync(join(dir, 'junk.asc'), 'not a key', { mode: 0o600 });
  const [junk] = await checkSigning(input({ env: { RELEASE_SIGNING_KEY: join(dir, 'junk.asc') } }));
  assert.is(junk.status, 'error');
  assert.match(junk.found, 'is not an ASCII-armored OpenPGP private key');
  assert.match(junk.fix!, 'gpg --armor --export-secret-keys');

  const keyLines = key.armored.split('\n').filter((l) => /^[A-Za-z0-9+/=]{20,}$/.test(l));
  for (const secret of [passphrase, wrong]) {
    const report = await runDoctor(input({ env: { ...process.env, RELEASE_SIGNING_KEY: key.file, RELEASE_SIGNING_PASSPHRASE: secret } }));
    for (const text of [formatDoctor(report), doctorJson(report)]) {
      for (const leak of [passphrase, wrong, ...keyLines]) assert.not.ok(text.includes(leak), `the report shows ${leak.slice(0, 12)}...`);
    }
  }
});

test('publishing: a file:// repository that exists, one publish would create (not created here), one under a file', async () => {
  const dir = tempDir('doctor-repo');
  const check = async (url: string) => (await checkPublishing(input({ env: { ARTIFACT_REPO: url } })))[0];
  const existing = await check(`file://${dir}`);
  assert.is(existing.status, 'ok');
  assert.match(existing.found, `file://${dir} (ARTIFACT_REPO): a writable folder`);
  const later = await check(`file://${dir}/a/b`);
  assert.is(later.status, 'ok');
  assert.match(later.found, `publish creates it in ${dir}`);
  assert.not.ok(existsSync(join(dir, 'a')), 'the doctor created the repository');
  writeFileSync(join(dir, 'file'), '');
  const blocked = await check(`file://${dir}/file/repo`);
  assert.is(blocked.status, 'error');
  assert.match(blocked.found, `${join(dir, 'file')} is not a folder`);
  assert.is((await check('ftp://example.invalid/x')).status, 'error');
});

test('publishing: an s3:// repository answering, without its bucket, and where nothing answers', async () => {
  const s3 = await startS3Server(tempDir('doctor-s3'), ['releases']);
  const check = async (url: string) => (await checkPublishing(input({ env: { ...s3.env, ARTIFACT_REPO: url } })))[0];
  try {
    const answers = await check('s3://releases/spacetime');
    assert.is(answers.status, 'ok', answers.found);
    assert.match(answers.found, `s3://releases/spacetime (ARTIFACT_REPO): the bucket answers at ${s3.endpoint}`);
    const noBucket = await check('s3://no-such-bucket/x');
    assert.is(noBucket.status, 'error');
    assert.match(noBucket.found, 'the bucket no-such-bucket does not exist');
  } finally {
    await s3.close();
  }
  const gone = await check('s3://releases/spacetime');
  assert.is(gone.status, 'error');
  assert.match(gone.found, `${s3.endpoint} does not answer (ECONNREFUSED`);
  assert.match(gone.fix!, 'AWS_ENDPOINT_URL');
});

test('publishing: no registry is a skip in development and an error in production; half-set credentials are an error', async () => {
  const registry = async (env: NodeJS.ProcessEnv, mode: 'development' | 'production') => (await checkPublishing(input({ env, mode })))[1];
  assert.is((await registry({}, 'development')).status, 'warning');
  const production = await registry({}, 'production');
  assert.is(production.status, 'error');
  assert.match(production.found, 'DOCKER_REGISTRY is not set: publish cannot push the image');
  const half = await registry({ DOCKER_REGISTRY: '127.0.0.1:1', DOCKER_USERNAME: 'ci' }, 'development');
  assert.is(half.status, 'error');
  assert.match(half.found, 'set both DOCKER_USERNAME and DOCKER_PASSWORD, or neither');
});

test('refuseErrors lists every error of the stage with its fix, and nothing of the other stage', () => {
  const check = (name: string, status: Check['status'], stage: Check['stage']): Check => ({
    area: 'Engine',
    name,
    status,
    found: `${name} found`,
    fix: `${name} fix`,
    stage,
  });
  const report = {
    mode: 'production' as const,
    checks: [check('a', 'error', 'build'), check('b', 'warning', 'build'), check('c', 'error', 'publish'), check('d', 'error', 'build')],
    counts: { ok: 0, warning: 1, error: 3 },
  };
  try {
    refuseErrors(report, 'build');
    assert.unreachable('errors must stop the build');
  } catch (e) {
    assert.is(
      (e as Error).message,
      'release:doctor finds what a production build refuses:\n  - Engine a: a found\n    fix: a fix\n  - Engine d: d found\n    fix: d fix',
    );
  }
  refuseErrors({ ...report, checks: report.checks.filter((c) => c.stage === 'publish' || c.status !== 'error') }, 'build');
});

test.after(() => {
  spawnSync('docker', ['rmi', '-f', PRESENT], { stdio: 'ignore' });
  cleanTempDirs();
});
test.run();
