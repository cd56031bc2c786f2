import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

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

export const IMAGE_FILE = 'libs/sections/binaries/godot/addons/bench/spacetime-vr-image.tar.gz';
export const SERVER_FILE = 'libs/sections/binaries/godot/addons/bench/spacetime-server.bin';
export const DOCS_DIR = 'libs/sections/docs/src/bench';

/**
 * Adds a release's worth of bytes to a workspace copy: an image-sized incompressible file and a
 * server-sized compressible one in the binaries section, and many small documents in docs.
 */
export function writeSyntheticRelease(root: string, size: SyntheticSize): void {
  mkdirSync(join(root, IMAGE_FILE, '..'), { recursive: true });
  writeChunks(join(root, IMAGE_FILE), size.imageMiB, () => randomBytes(1 << 20));
  writeChunks(join(root, SERVER_FILE), size.serverMiB, serverLikeChunk);
  mkdirSync(join(root, DOCS_DIR), { recursive: true });
  for (let i = 0; i < size.docFiles; i++) {
    const n = String(i).padStart(5, '0');
    writeFileSync(join(root, DOCS_DIR, `page-${n}.md`), docPage(i));
  }
}

function writeChunks(file: string, mebibytes: number, chunk: () => Buffer): void {
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < mebibytes; i++) writeSync(fd, chunk());
  } finally {
    closeSync(fd);
  }
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
  for (let p = 0; p < 12; p++) lines.push(`Step ${p + 1}: check ${topic} metric spacetime_${topic.replace(/ /g, '_')}_${(i * 31 + p) % 997} on shard ${(i + p) % 64} before continuing.`);
  return lines.join('\n') + '\n';
}
