import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readDockerfile } from '../src/build/dockerfile';
import { baseReference, ContainerConfig, engineOnly, planImage } from '../src/build/dockerfile-plan';
import { parseBaseSource } from '../src/build/oci-base';
import { copiedFiles } from '../src/build/oci-image';

/** The Dockerfile reader of the daemonless image build: instructions to an image config and layers, without an engine. */

const plan = (text: string, baseConfig: ContainerConfig = {}, buildArgs: Record<string, string> = {}) =>
  planImage(readDockerfile(text, 'Dockerfile'), { baseConfig, buildArgs });

const fails = (f: () => unknown, pattern: RegExp) => {
  try {
    f();
  } catch (e) {
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected ${pattern}`);
};

test("the game server's Dockerfile: the config its instructions set, one layer per COPY, nothing for the engine", () => {
  const text = readFileSync(join(__dirname, '../../sections/binaries/Dockerfile'), 'utf8');
  const dockerfile = readDockerfile(text, 'libs/sections/binaries/Dockerfile');
  assert.equal(engineOnly(dockerfile), []);
  const from = baseReference(dockerfile, { VERSION: '2.5.0' });
  assert.match(from.reference, /^docker\.io\/library\/debian:bookworm-slim@sha256:[0-9a-f]{64}$/);
  assert.is(
    baseReference(dockerfile, { BASE_IMAGE: 'oci-layout://base@sha256:' + 'a'.repeat(64) }).reference,
    `oci-layout://base@sha256:${'a'.repeat(64)}`,
  );
  const p = planImage(dockerfile, {
    baseConfig: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
    buildArgs: { VERSION: '2.5.0' },
  });
  assert.equal(p.config, {
    Env: [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'SPACETIME_VERSION=2.5.0',
      'HTTP_PORT=8080',
      'GAME_PORT=7777',
      'HOME=/tmp',
      'XDG_DATA_HOME=/tmp/xdg/data',
    ],
    Cmd: null,
    WorkingDir: '/opt/spacetime',
    User: '10001:10001',
    ExposedPorts: { '8080/tcp': {}, '7777/udp': {} },
    StopSignal: 'SIGTERM',
    Healthcheck: {
      Test: ['CMD', '/opt/spacetime/spacetime-server', '--headless', '--healthcheck'],
      Interval: 30e9,
      Timeout: 5e9,
      StartPeriod: 20e9,
      Retries: 3,
    },
    Entrypoint: ['/opt/spacetime/spacetime-server', '--headless'],
  });
  assert.equal(
    p.steps.filter((s) => s.copy).map((s) => [s.copy!.sources, s.copy!.destination]),
    [
      [['spacetime-server'], '/opt/spacetime/'],
      [['VERSION.txt'], '/opt/spacetime/'],
    ],
  );
  assert.ok(p.steps.some((s) => s.createdBy === 'USER 10001:10001'));
});

test('continuation lines, comments inside them, the escape directive, quotes and substitutions read as BuildKit reads them', () => {
  const p = plan(
    [
      '# escape=`',
      'FROM scratch',
      'ARG NAME=server',
      'ARG EMPTY',
      'ENV A="two words" `',
      '  # a comment inside the instruction',
      "  B='$NOT_EXPANDED' C=${NAME:-x}-${EMPTY:-fallback}-${NAME:+set} D=c:\\path",
      'ENV LEGACY value with spaces',
      'LABEL "com.example.name"="$NAME" multi="a b"',
      'WORKDIR /opt',
      'WORKDIR app',
      'COPY --chmod=0700 a b ./',
      'EXPOSE 8000-8002/udp',
      'CMD serve --port 8080',
    ].join('\n'),
  );
  assert.equal(p.config.Env, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'A=two words',
    'B=$NOT_EXPANDED',
    'C=server-fallback-set',
    'D=c:\\path',
    'LEGACY=value with spaces',
  ]);
  assert.equal(p.config.Labels, { 'com.example.name': 'server', multi: 'a b' });
  assert.is(p.config.WorkingDir, '/opt/app');
  assert.equal(p.config.ExposedPorts, { '8000/udp': {}, '8001/udp': {}, '8002/udp': {} });
  assert.equal(p.config.Cmd, ['/bin/sh', '-c', 'serve --port 8080']);
  const copy = p.steps.find((s) => s.copy)!.copy!;
  assert.equal([copy.sources, copy.destination, copy.chmod, copy.line], [['a', 'b'], '/opt/app/', 0o700, 12]);
});

test('ENTRYPOINT drops the CMD the base image set, but keeps one this Dockerfile sets; SHELL changes the shell form', () => {
  assert.equal(plan('FROM scratch\nENTRYPOINT ["/srv"]\n', { Cmd: ['bash'] }).config.Cmd, null);
  assert.equal(plan('FROM scratch\nCMD ["--port", "1"]\nENTRYPOINT ["/srv"]\n', { Cmd: ['bash'] }).config.Cmd, ['--port', '1']);
  assert.equal(plan('FROM scratch\nSHELL ["/bin/ash", "-eo", "pipefail", "-c"]\nENTRYPOINT exec /srv\n').config.Entrypoint, [
    '/bin/ash',
    '-eo',
    'pipefail',
    '-c',
    'exec /srv',
  ]);
  assert.equal(plan('FROM scratch\nHEALTHCHECK NONE\n', { Healthcheck: { Test: ['CMD', 'x'] } }).config.Healthcheck, { Test: ['NONE'] });
  assert.equal(plan('FROM scratch\nHEALTHCHECK CMD wget -q localhost:8080/healthz\n').config.Healthcheck, {
    Test: ['CMD-SHELL', 'wget -q localhost:8080/healthz'],
  });
});

test('steps only the Docker engine builds are named with their lines', () => {
  const dockerfile = readDockerfile(
    'FROM base AS build\nRUN make\nADD https://example.com/x.tgz /x\nONBUILD COPY . /\nFROM scratch\nCOPY --from=build /out /\n',
    'Dockerfile',
  );
  assert.equal(engineOnly(dockerfile), [
    { line: 2, why: 'RUN runs a command inside the image' },
    { line: 3, why: 'ADD fetches URLs and unpacks archives (COPY adds files of the build context)' },
    { line: 4, why: 'ONBUILD sets instructions for images built FROM this one' },
    { line: 5, why: 'a second FROM starts a multi-stage build' },
    { line: 6, why: 'COPY --from copies from another stage or image' },
  ]);
  fails(
    () => plan('FROM scratch\n\nRUN apt-get update\n'),
    /^Dockerfile:3: RUN runs a command inside the image: only the Docker engine builds it/,
  );
});

test('wrong input: an error naming the Dockerfile and the line', () => {
  const cases: Array<[string, RegExp]> = [
    [
      'FROM scratch\nENTRYPOINT ["/srv", --headless]\n',
      /^Dockerfile:2: ENTRYPOINT \["\/srv", --headless\]: not a JSON array of strings\n {2}hint: the exec form is JSON/,
    ],
    ['FROM scratch\nFORM x\n', /^Dockerfile:2: "FORM" is not a Dockerfile instruction/],
    [
      'FROM scratch\nCOPY --chown=10001:10001 a /a\n',
      /^Dockerfile:2: COPY --chown=10001:10001: every file of the image's layers is owned by 0:0\n {2}hint: keep the files root-owned/,
    ],
    ['FROM scratch\nCOPY --parents a /a\n', /^Dockerfile:2: COPY --parents: not an option this build reads/],
    ['FROM scratch\nCOPY --chmod=rwx a /a\n', /^Dockerfile:2: COPY --chmod=rwx: not an octal mode/],
    ['FROM scratch\nCOPY a\n', /^Dockerfile:2: COPY needs a source and a destination/],
    ['FROM scratch\nEXPOSE 70000\n', /^Dockerfile:2: "70000" is not a port/],
    ['FROM scratch\nHEALTHCHECK --interval=30 CMD x\n', /^Dockerfile:2: HEALTHCHECK --interval=30: not a duration/],
    ['FROM scratch\nHEALTHCHECK --every=30s CMD x\n', /^Dockerfile:2: HEALTHCHECK --every: not an option/],
    ['FROM scratch\nENV A="unterminated\n', /^Dockerfile:2: unmatched " in: A="unterminated/],
    ['FROM scratch\nENV A=${B:?B must be set}\n', /^Dockerfile:2: B: B must be set/],
    ['FROM scratch\nSTOPSIGNAL TERMINATE\n', /^Dockerfile:2: "TERMINATE" is not a signal/],
    ['FROM scratch\nLABEL novalue\n', /^Dockerfile:2: LABEL novalue: "novalue" is not KEY=value/],
    ['# escape=x\nFROM scratch\n', /^Dockerfile:1: the escape directive must be \\ or `, not x/],
  ];
  for (const [text, pattern] of cases) fails(() => plan(text), pattern);
  fails(() => baseReference(readDockerfile('ARG X=1\n', 'Dockerfile'), {}), /^Dockerfile: has no FROM instruction/);
  fails(
    () => baseReference(readDockerfile('\nFROM --platform=linux/amd64 x\n', 'Dockerfile'), {}),
    /^Dockerfile:2: FROM --platform=linux\/amd64: the image of each platform/,
  );
});

test('a base image not pinned by digest is refused with how to pin it; references are read as Docker reads them', () => {
  fails(
    () => parseBaseSource('debian:bookworm-slim', '/ws', { file: 'Dockerfile', line: 3 }),
    new RegExp(
      '^Dockerfile:3: FROM debian:bookworm-slim: the base image is not pinned by digest\\n {2}hint: name it by digest, ' +
        'debian@sha256:<index digest> \\(`skopeo inspect --raw docker://debian:bookworm-slim \\| sha256sum`\\)',
    ),
  );
  const digest = `sha256:${'b'.repeat(64)}`;
  assert.equal(parseBaseSource(`debian:bookworm-slim@${digest}`, '/ws', { file: 'Dockerfile' }), {
    kind: 'registry',
    text: `debian:bookworm-slim@${digest}`,
    registry: 'docker.io',
    repository: 'library/debian',
    digest,
  });
  assert.equal(parseBaseSource(`127.0.0.1:5000/team/base@${digest}`, '/ws', { file: 'Dockerfile' }), {
    kind: 'registry',
    text: `127.0.0.1:5000/team/base@${digest}`,
    registry: '127.0.0.1:5000',
    repository: 'team/base',
    digest,
  });
  // A layout is recorded without the machine's path: relative to the workspace, or by its folder's name.
  assert.equal(parseBaseSource(`oci-layout://tools/base@${digest}`, '/ws', { file: 'Dockerfile' }), {
    kind: 'layout',
    text: `oci-layout://tools/base@${digest}`,
    folder: '/ws/tools/base',
    digest,
  });
  assert.is(parseBaseSource(`oci-layout:///tmp/x/busybox@${digest}`, '/ws', { file: 'Dockerfile' }).text, `oci-layout://busybox@${digest}`);
  fails(
    () => parseBaseSource('oci-layout:///tmp/x', '/ws', { file: 'Dockerfile', line: 1 }),
    /^Dockerfile:1: FROM oci-layout:\/\/\/tmp\/x: an OCI layout is named/,
  );
  fails(() => parseBaseSource('Not/A/Name!', '/ws', { file: 'Dockerfile' }), /is not an image reference/);
});

test('COPY takes files, folders and wildcards of the context as Docker does; a missing source names what the context holds', () => {
  const context = ['VERSION.txt', 'spacetime-server', 'conf/a.cfg', 'conf/b.cfg', 'conf/sub/c.cfg'].map((name) => ({
    name,
    file: `/ctx/${name}`,
    mode: name.endsWith('server') ? 0o755 : 0o644,
  }));
  const copy = (sources: string[], destination: string, chmod?: number) =>
    copiedFiles({ line: 7, sources, destination, chmod }, context, 'Dockerfile').map((f) => [f.path, f.mode.toString(8)]);
  assert.equal(copy(['spacetime-server'], '/opt/bin/server'), [['/opt/bin/server', '755']]);
  assert.equal(copy(['spacetime-server', 'VERSION.txt'], '/opt/'), [
    ['/opt/spacetime-server', '755'],
    ['/opt/VERSION.txt', '644'],
  ]);
  assert.equal(copy(['conf'], '/etc/app', 0o600), [
    ['/etc/app/a.cfg', '600'],
    ['/etc/app/b.cfg', '600'],
    ['/etc/app/sub/c.cfg', '600'],
  ]);
  assert.equal(copy(['conf/*.cfg'], '/etc/'), [
    ['/etc/a.cfg', '644'],
    ['/etc/b.cfg', '644'],
  ]);
  fails(
    () => copy(['missing'], '/x'),
    /^Dockerfile:7: COPY missing: not in the build context\n {2}hint: the context holds: VERSION\.txt, spacetime-server, conf\/a\.cfg/,
  );
  fails(() => copy(['../secret'], '/x'), /^Dockerfile:7: COPY \.\.\/secret: a source outside the build context/);
});

test.run();
