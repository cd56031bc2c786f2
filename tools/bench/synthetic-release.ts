import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ARTIFACT_SET_FILE, ARTIFACT_SET_FORMAT, ArtifactSet } from '../../libs/release-kit/src/section/artifact-set';
import { stableJson } from '../../libs/release-kit/src/support/stable-json';

export interface SyntheticSize {
  /** MiB of incompressible data: the Docker image tarball. */
  imageMiB: number;
  /** MiB of compressible binary: the server executable. */
  serverMiB: number;
  /** Small Markdown files in docs. */
  docFiles: number;
}

export function syntheticSize(scale: number): SyntheticSize {
  return { imageMiB: Math.round(600 * scale), serverMiB: Math.round(200 * scale), docFiles: Math.round(20000 * scale) };
}

export const IMAGE_FILE = 'spacetime-vr-image.tar.gz';
export const SERVER_FILE = 'spacetime-server.bin';
export const DOCS_DIR = 'libs/sections/docs/src/bench';
/** Where the binaries section's build outputs stand: a build target's output folder, as the image and export targets have. */
const BUILD_OUTPUT_DIR = 'dist/binaries/bench';

/** Writes the image and the server stand-ins, chunk by chunk, through `write`. */
export interface BuildOutputs {
  image: (write: (bytes: Buffer) => void) => void;
  server: (write: (bytes: Buffer) => void) => void;
}

/**
 * Adds a release's worth of bytes to a workspace copy. The image-sized incompressible file and the
 * server-sized compressible one are build outputs in a real release (of binaries:image and
 * binaries:export), so here they are too: written to `outputsDir`, outside the workspace, with the
 * artifacts.json a build target leaves, and put in place by a cached target of the binaries
 * project that the package target depends on. The many small documents are docs sources.
 */
export function writeSyntheticRelease(root: string, outputsDir: string, size: SyntheticSize): string {
  writeBuildOutputs(root, outputsDir, {
    image: (write) => Array.from({ length: size.imageMiB }, () => write(randomBytes(1 << 20))),
    server: (write) => Array.from({ length: size.serverMiB }, () => write(serverLikeChunk())),
  });
  mkdirSync(join(root, DOCS_DIR), { recursive: true });
  for (let i = 0; i < size.docFiles; i++) {
    const n = String(i).padStart(5, '0');
    writeFileSync(join(root, DOCS_DIR, `page-${n}.md`), docPage(i));
  }
  return `synthetic data: ${size.imageMiB} MiB image, ${size.serverMiB} MiB server, ${size.docFiles} docs files`;
}

/** The image and server files in `outputsDir` with their artifacts.json, and the target that puts them in place. */
export function writeBuildOutputs(root: string, outputsDir: string, outputs: BuildOutputs): void {
  mkdirSync(outputsDir, { recursive: true });
  const set: ArtifactSet = {
    format: ARTIFACT_SET_FORMAT,
    files: [
      { path: IMAGE_FILE, mode: 0o644, ...writeHashed(join(outputsDir, IMAGE_FILE), outputs.image) },
      { path: SERVER_FILE, mode: 0o644, ...writeHashed(join(outputsDir, SERVER_FILE), outputs.server) },
    ],
    skipped: [],
    metadata: {},
  };
  writeFileSync(join(outputsDir, ARTIFACT_SET_FILE), stableJson(set));
  addBuildOutputTarget(root, outputsDir);
}

/** binaries:bench-outputs links the stand-ins into BUILD_OUTPUT_DIR; binaries:package packs them as it packs the image and the server. */
function addBuildOutputTarget(root: string, outputsDir: string): void {
  const file = join(root, 'libs/sections/binaries/project.json');
  const project = JSON.parse(readFileSync(file, 'utf8'));
  project.targets['bench-outputs'] = {
    executor: 'nx:run-commands',
    cache: true,
    inputs: [{ runtime: `cat ${join(outputsDir, ARTIFACT_SET_FILE)}` }],
    outputs: [`{workspaceRoot}/${BUILD_OUTPUT_DIR}`],
    options: { command: `rm -rf ${BUILD_OUTPUT_DIR} && mkdir -p ${dirname(BUILD_OUTPUT_DIR)} && cp -al ${outputsDir} ${BUILD_OUTPUT_DIR}` },
  };
  const pkg = project.targets.package;
  pkg.dependsOn.push('bench-outputs');
  pkg.options.artifacts.push({ from: BUILD_OUTPUT_DIR, to: 'bench' });
  writeFileSync(file, `${JSON.stringify(project, null, 2)}\n`);
}

/** Writes a file through `fill` and returns what artifacts.json records of it. */
function writeHashed(file: string, fill: BuildOutputs['image']): { size: number; sha256: string } {
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  let size = 0;
  try {
    fill((bytes) => {
      hash.update(bytes);
      writeSync(fd, bytes);
      size += bytes.length;
    });
  } finally {
    closeSync(fd);
  }
  return { size, sha256: hash.digest('hex') };
}

/** Machine-code-like bytes: repeated instruction patterns with varying operands (compresses ~3:1). */
function serverLikeChunk(): Buffer {
  const out = Buffer.alloc(1 << 20);
  const noise = randomBytes(out.length / 4);
  for (let i = 0; i < out.length; i += 16) {
    out.writeUInt32LE(0x48894c24 ^ (i & 0xff00), i);
    out.writeUInt32LE(0x08e80000 | (noise[i >> 2] & 0x3f), i + 4);
    out.writeUInt32LE(noise.readUInt32LE((i >> 2) & ~3) & 0x0f0f0f0f, i + 8);
    out.writeUInt32LE(0xc3909090, i + 12);
  }
  return out;
}

function docPage(i: number): string {
  const topics = ['shard routing', 'session handoff', 'frame pacing', 'database failover', 'alert triage', 'rollout'];
  const topic = topics[i % topics.length];
  const lines = [`# ${topic} note ${i}`, '', `**Release:** {{version}}`, ''];
  for (let p = 0; p < 12; p++)
    lines.push(
      `Step ${p + 1}: check ${topic} metric spacetime_${topic.replace(/ /g, '_')}_${(i * 31 + p) % 997} on shard ${(i + p) % 64} before continuing.`,
    );
  return lines.join('\n') + '\n';
}
