// artifacts.json is what a section's package target hashes in place of a build target's large
// outputs, so it has to describe them exactly, and packaging has to refuse an output that no
// longer matches it. The package folder links those outputs instead of copying them, and checks
// them as it does.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ARTIFACT_SET_FILE,
  BUILD_OUTPUT_STAMPS,
  outputStamp,
  readArtifactSet,
  resolveArtifacts,
  writeArtifactSet,
} from '../src/section/artifact-set';
import { ReleaseError } from '../src/support/errors';
import { writePackageFolder } from '../src/assemble/package-folder';
import { packSection } from '../src/section/packer';
import { RACY_MS } from '../src/section/source-files';
import { cleanTempDirs, incompressible, tempDir, tool, writeTree } from './helpers';

const IMAGE = incompressible(3 << 20, 7);

async function builtOutput(): Promise<string> {
  const root = tempDir('artifact-set');
  writeTree(root, { 'dist/image/spacetime-vr.tar.gz': IMAGE, 'dist/image/build.log': 'ok\n' });
  await writeArtifactSet(join(root, 'dist/image'), {
    files: [{ path: 'spacetime-vr.tar.gz', mode: 0o644 }],
    skipped: [],
    metadata: { image: { id: 'sha256:abc' } },
  });
  return root;
}

async function packImage(root: string) {
  const artifacts = resolveArtifacts(root, [{ from: 'dist/image', to: '.' }]);
  return packSection({
    workspaceRoot: root,
    section: 'binaries',
    version: '2.5.0',
    sources: artifacts.sources,
    skipped: artifacts.skipped,
    outputDir: join(root, 'dist/sections/binaries'),
    mtime: 315532800,
  });
}

function rejection(error: unknown): ReleaseError {
  assert.instance(error, ReleaseError);
  return error as ReleaseError;
}

test("writeArtifactSet records each listed file's size and SHA-256, as sha256sum computes it", async () => {
  const root = await builtOutput();
  const set = readArtifactSet(join(root, 'dist/image'), 'dist/image');
  const [expected] = tool('sha256sum', [join(root, 'dist/image/spacetime-vr.tar.gz')]).split(' ');
  assert.equal(set.files, [{ path: 'spacetime-vr.tar.gz', mode: 0o644, size: IMAGE.length, sha256: expected }]);
  assert.equal(set.metadata, { image: { id: 'sha256:abc' } });
});

test('an output whose content still matches packs, and its recorded digest is the packed one', async () => {
  const root = await builtOutput();
  const fragment = await packImage(root);
  assert.is(fragment.files[0].sha256, createHash('sha256').update(IMAGE).digest('hex'));
});

const changedInPlace =
  'an output changed in place after its target ran (same size) fails packaging, names the file, and leaves no section output';
test(changedInPlace, async () => {
  const root = await builtOutput();
  const tampered = Buffer.from(IMAGE);
  tampered[1 << 20] ^= 1;
  writeFileSync(join(root, 'dist/image/spacetime-vr.tar.gz'), tampered);
  const error = rejection(await packImage(root).catch((e) => e));
  assert.match(
    error.message,
    /^dist\/image\/spacetime-vr\.tar\.gz: has SHA-256 [0-9a-f]{64}, not the [0-9a-f]{64} listed: it changed after the target that built it wrote artifacts\.json/,
  );
  assert.match(error.message, /run the target that writes dist\/image with --skip-nx-cache/);
  assert.not.ok(existsSync(join(root, 'dist/sections/binaries')));
});

test('an output that grew after its target ran is refused before anything is read', async () => {
  const root = await builtOutput();
  writeFileSync(join(root, 'dist/image/spacetime-vr.tar.gz'), Buffer.concat([IMAGE, Buffer.from('x')]));
  let error: unknown;
  try {
    resolveArtifacts(root, [{ from: 'dist/image', to: '.' }]);
  } catch (e) {
    error = e;
  }
  assert.match(
    rejection(error).message,
    new RegExp(`^dist/image/spacetime-vr\\.tar\\.gz: is ${IMAGE.length + 1} bytes, not the ${IMAGE.length} listed`),
  );
});

test('an artifacts.json of the previous format is refused with what to do', async () => {
  const root = await builtOutput();
  const file = join(root, 'dist/image', ARTIFACT_SET_FILE);
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), format: 1 }));
  let error: unknown;
  try {
    readArtifactSet(join(root, 'dist/image'), 'dist/image');
  } catch (e) {
    error = e;
  }
  assert.match(rejection(error).message, /^dist\/image: artifacts\.json is not in format 2.*--skip-nx-cache/s);
});

async function folderOf(root: string, extra: Record<string, string> = {}) {
  writeTree(root, extra);
  const artifacts = resolveArtifacts(root, [{ from: 'dist/image', to: '.' }]);
  const sources = [
    ...artifacts.sources,
    ...Object.keys(extra).map((path) => ({ path: path.split('/').pop()!, origin: path, file: join(root, path), sourceMode: 0o644 })),
  ];
  const outputDir = join(root, 'dist/sections/binaries');
  const fragment = await packSection({
    workspaceRoot: root,
    section: 'binaries',
    version: '2.5.0',
    sources,
    skipped: [],
    outputDir,
    mtime: 315532800,
  });
  const folder = join(root, 'dist/release/pkg');
  return {
    folder,
    write: () =>
      writePackageFolder(folder, { workspaceRoot: root, sections: [{ fragment, outputDir, digest: 'd' }], rootFiles: [] }).copied,
  };
}

test('packaging records what lstat says of each build output it hashed; the package folder links it and copies a source file', async () => {
  const root = await builtOutput();
  await settled();
  const { folder, write } = await folderOf(root, { 'libs/binaries/README.md': '# binaries\n' });
  const recorded = JSON.parse(readFileSync(join(root, 'dist/sections/binaries', BUILD_OUTPUT_STAMPS), 'utf8'));
  assert.equal(recorded, { 'binaries/spacetime-vr.tar.gz': outputStamp(join(root, 'dist/image/spacetime-vr.tar.gz')) });
  await write();
  const built = statSync(join(root, 'dist/image/spacetime-vr.tar.gz'));
  const linked = statSync(join(folder, 'binaries/spacetime-vr.tar.gz'));
  assert.equal([linked.ino, linked.nlink, linked.mode & 0o7777], [built.ino, 2, 0o644]);
  assert.is.not(statSync(join(folder, 'binaries/README.md')).ino, statSync(join(root, 'libs/binaries/README.md')).ino);
});

test("a build output whose mode is not the package's is copied, and its own mode left alone", async () => {
  const root = await builtOutput();
  const { folder, write } = await folderOf(root);
  chmodSync(join(root, 'dist/image/spacetime-vr.tar.gz'), 0o600);
  await write();
  const copied = statSync(join(folder, 'binaries/spacetime-vr.tar.gz'));
  assert.is.not(copied.ino, statSync(join(root, 'dist/image/spacetime-vr.tar.gz')).ino);
  assert.is(copied.mode & 0o7777, 0o644);
  assert.is(statSync(join(root, 'dist/image/spacetime-vr.tar.gz')).mode & 0o7777, 0o600);
  assert.ok(readFileSync(join(folder, 'binaries/spacetime-vr.tar.gz')).equals(IMAGE));
});

const writtenThroughAfterPackaging =
  'a build output written through after its section was packaged is not linked into the package: the folder fails, naming it';
test(writtenThroughAfterPackaging, async () => {
  const root = await builtOutput();
  const { write } = await folderOf(root);
  const tampered = Buffer.from(IMAGE);
  tampered[2 << 20] ^= 1;
  writeFileSync(join(root, 'dist/image/spacetime-vr.tar.gz'), tampered);
  let error: unknown;
  try {
    await write();
  } catch (e) {
    error = e;
  }
  assert.match(
    rejection(error).message,
    /^dist\/image\/spacetime-vr\.tar\.gz: changed after its section was packaged \(its SHA-256 no longer matches\)/,
  );
});

/** Past RACY_MS since the last change: packaging records the stamps. */
const settled = () => new Promise((resolve) => setTimeout(resolve, RACY_MS + 50));

const changedJustBeforePackaging =
  'a build output changed just before packaging gets no stamp (a change in the same clock tick could keep it), so it is hashed again';
test(changedJustBeforePackaging, async () => {
  const root = await builtOutput();
  utimesSync(join(root, 'dist/image/spacetime-vr.tar.gz'), 1e9, 1e9);
  await folderOf(root);
  assert.not.ok(existsSync(join(root, 'dist/sections/binaries', BUILD_OUTPUT_STAMPS)));
});

test('a build output written through after packaging with its size and mtime put back is still caught: its ctime moved', async () => {
  const root = await builtOutput();
  const file = join(root, 'dist/image/spacetime-vr.tar.gz');
  utimesSync(file, 1e9, 1e9);
  await settled();
  const { write } = await folderOf(root);
  const tampered = Buffer.from(IMAGE);
  tampered[2 << 20] ^= 1;
  writeFileSync(file, tampered);
  utimesSync(file, 1e9, 1e9);
  const recorded = JSON.parse(readFileSync(join(root, 'dist/sections/binaries', BUILD_OUTPUT_STAMPS), 'utf8'))[
    'binaries/spacetime-vr.tar.gz'
  ];
  const now = outputStamp(file)!;
  assert.equal([now.ino, now.size, now.mtimeMs], [recorded.ino, recorded.size, recorded.mtimeMs]);
  assert.is.not(now.ctimeMs, recorded.ctimeMs);
  let error: unknown;
  try {
    await write();
  } catch (e) {
    error = e;
  }
  assert.match(rejection(error).message, /^dist\/image\/spacetime-vr\.tar\.gz: changed after its section was packaged/);
});

test('a build output replaced by the same bytes (as Nx restores one) is hashed, found equal and linked', async () => {
  const root = await builtOutput();
  const { folder, write } = await folderOf(root);
  const file = join(root, 'dist/image/spacetime-vr.tar.gz');
  writeFileSync(`${file}.new`, IMAGE);
  renameSync(`${file}.new`, file);
  await write();
  assert.is(statSync(join(folder, 'binaries/spacetime-vr.tar.gz')).ino, statSync(file).ino);
});

test.after(cleanTempDirs);
test.run();
