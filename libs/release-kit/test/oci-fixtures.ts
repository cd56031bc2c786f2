import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import type { ReleaseImageOptions } from '../src/build/image-build';
import { writeArtifactSet } from '../src/section/artifact-set';
import { busyboxBase } from '../../../workspace-tests/oci-base';
import { tempDir } from './helpers';

/** Fixtures of the daemonless image tests: an export's output for two platforms, and the CycloneDX 1.5 schema. */

/** The server: its ready line under --smoke, healthy once it serves. */
export const SERVER = `#!/bin/sh
if [ "$1" = --smoke ]; then echo "ready $(cat VERSION.txt)"; exit 0; fi
if [ "$1" = --healthcheck ]; then [ -f /tmp/serving ]; exit; fi
echo serving > /tmp/serving
exec sleep 600
`;

export const DOCKERFILE = `ARG BASE_IMAGE
FROM \${BASE_IMAGE}
ARG VERSION
ENV SPACETIME_VERSION=\${VERSION}
WORKDIR /opt/spacetime
COPY busybox /opt/tools/
COPY spacetime-server VERSION.txt /opt/spacetime/
USER 10001:10001
HEALTHCHECK --interval=30s CMD ["/opt/spacetime/spacetime-server", "--healthcheck"]
ENTRYPOINT ["/opt/spacetime/spacetime-server"]
`;

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * What binaries:export leaves for two platforms: the main server at the root, the arm64 one under
 * linux/arm64/. Besides the server script, each platform ships its own busybox executable.
 */
export async function imageWorkspace(dockerfile = DOCKERFILE, over: Partial<ReleaseImageOptions> = {}): Promise<ReleaseImageOptions> {
  const base = busyboxBase();
  const root = tempDir('oci-image');
  const context = join(root, 'dist/server');
  mkdirSync(join(context, 'linux/arm64'), { recursive: true });
  writeFileSync(join(context, 'VERSION.txt'), '2.5.0\n');
  writeFileSync(join(context, 'spacetime-server'), SERVER, { mode: 0o755 });
  copyFileSync(join(base.platforms['linux/amd64'].rootfs, 'bin/busybox'), join(context, 'busybox'));
  copyFileSync(join(base.platforms['linux/arm64'].rootfs, 'bin/busybox'), join(context, 'linux/arm64/busybox'));
  await writeArtifactSet(context, {
    files: [
      { path: 'VERSION.txt', mode: 0o644 },
      { path: 'busybox', mode: 0o755 },
      { path: 'linux/arm64/busybox', mode: 0o755 },
      { path: 'spacetime-server', mode: 0o755 },
    ],
    skipped: [],
    metadata: {
      godot: { artifact: 'spacetime-server', smoke: { args: ['--smoke'], ready: '^ready 2\\.5\\.0$' } },
      platforms: [
        { platform: 'linux/amd64', preset: 'Linux Server', dir: '' },
        { platform: 'linux/arm64', preset: 'Linux Server arm64', dir: 'linux/arm64' },
      ],
    },
  });
  writeFileSync(join(root, 'Dockerfile'), dockerfile);
  return {
    builder: 'files',
    platforms: ['linux/amd64', 'linux/arm64'],
    workspaceRoot: root,
    dockerfile: join(root, 'Dockerfile'),
    contextDir: context,
    outputDir: join(root, 'dist/image'),
    version: '2.5.0',
    baseImage: base.reference,
    revision: 'abc123',
    created: 1700000000,
    mtime: 315532800,
    production: false,
    smokeTimeoutSeconds: 20,
    env: { ...process.env },
    ...over,
  };
}

/**
 * The CycloneDX 1.5 JSON schema (with the SPDX license list and JSF it refers to), as published in
 * CycloneDX/specification. Formats Ajv does not know are checked loosely: no white space in an IRI.
 */
export function cycloneDxValidator(): ValidateFunction<any> {
  const schema = (name: string) => JSON.parse(readFileSync(join(__dirname, 'schemas', name), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  ajv.addFormat('iri-reference', /^\S*$/);
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/);
  ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:\S*$/i);
  ajv.addSchema(schema('cyclonedx-spdx.schema.json'));
  ajv.addSchema(schema('cyclonedx-jsf-0.82.schema.json'));
  return ajv.compile(schema('cyclonedx-bom-1.5.schema.json'));
}
