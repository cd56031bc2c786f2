// A made file (rendered with `{{version}}` or generated as `data`) of any size ships whole: the
// section's tar members and the zip both hold every byte, as GNU tar and the project's verifier
// see them. Sizes around the packer's batch (4 MiB, plus a file under 1 MiB and 1 KiB of headers)
// are packed on each side of every boundary.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import { assembleFixture } from './fixture-release';
import * as assert from 'uvu/assert';
import type { AssembleResult } from '../src/assemble/assemble';
import { entryEpoch } from '../src/format/determinism';
import { packSection } from '../src/section/packer';
import { resolveSectionSources, SectionSource } from '../src/section/sources';
import { verifyPackage } from '../src/verifier/verify-package';
import { cleanTempDirs, compressible, incompressible, tempDir, tool, writeTree } from './helpers';

const VERSION = '1.2.3';
const TOP = `spacetime-vr-v${VERSION}`;
const SECTION = 'big';
const MiB = 1 << 20;
/** The packer's batch: 4 MiB, then room for one more file under 1 MiB with its header and padding. */
const BATCH = 4 * MiB + MiB + 1024;
const EDGES = [MiB - 1, MiB, MiB + 1, 4 * MiB, BATCH - 1024, BATCH - 512 - 1, BATCH - 512, BATCH - 1, BATCH, BATCH + 1];
const name = (size: number) => `edge-${String(size).padStart(8, '0')}`;

/** Text of exactly `size` bytes once rendered, with a version token at its start and its end. */
function renderedEdge(size: number): { source: Buffer; rendered: Buffer } {
  const head = 'version {{version}}\n';
  const tail = '\nend of {{version}}\n';
  const shown = (s: string) => s.split('{{version}}').join(VERSION);
  const filler = compressible(size - shown(head).length - shown(tail).length);
  return {
    source: Buffer.concat([Buffer.from(head), filler, Buffer.from(tail)]),
    rendered: Buffer.concat([Buffer.from(shown(head)), filler, Buffer.from(shown(tail))]),
  };
}

/** About 6 MiB of text with a version token on every line. */
function hugeTemplate(): { source: Buffer; rendered: Buffer } {
  const lines: string[] = [];
  for (let i = 0, length = 0; length < 6 * MiB; i++) {
    const line = `line ${i}: SpaceTime VR {{version}} ${'frame tick mesh '.repeat(i % 7)}\n`;
    lines.push(line);
    length += line.length;
  }
  const source = lines.join('');
  return { source: Buffer.from(source), rendered: Buffer.from(source.split('{{version}}').join(VERSION)) };
}

/** Every package-relative file of the section with the bytes it must hold. */
const expected = new Map<string, Buffer>();
let release: AssembleResult;

test.before(async () => {
  const root = tempDir('packer-large-made');
  const project = `libs/sections/${SECTION}`;
  const files: Record<string, string | Buffer> = {
    VERSION: `${VERSION}\n`,
    'libs/release/release.config.json': JSON.stringify({
      sections: [SECTION],
      environments: ['production'],
      templates: { releaseNotes: 'templates/notes.md', checklist: 'templates/checklist.md' },
    }),
    'libs/release/templates/notes.md': '# Release {{version}}\n',
    'libs/release/templates/checklist.md': '- [ ] deploy {{version}}\n',
  };
  const huge = hugeTemplate();
  files[`${project}/render/huge.txt`] = huge.source;
  expected.set(`${SECTION}/render/huge.txt`, huge.rendered);
  for (const size of EDGES) {
    const edge = renderedEdge(size);
    files[`${project}/render/${name(size)}.txt`] = edge.source;
    expected.set(`${SECTION}/render/${name(size)}.txt`, edge.rendered);
    // The same sizes shipped as they are (read whole below 1 MiB, streamed from it on).
    const plain = incompressible(size, size);
    files[`${project}/plain/${name(size)}.bin`] = plain;
    expected.set(`${SECTION}/plain/${name(size)}.bin`, plain);
  }
  writeTree(root, files);

  const generated: SectionSource[] = [];
  const generate = (path: string, data: Buffer) => {
    generated.push({ path, origin: `${project}/project.json (generate -> ${path})`, data, sourceMode: 0o644 });
    expected.set(`${SECTION}/${path}`, data);
  };
  // Stored (it does not deflate), so the .tar.gz takes its bytes from the package folder.
  generate('generated/blob.bin', incompressible(5 * MiB + 3, 7));
  // Alternately deflated and stored.
  EDGES.forEach((size, i) => generate(`generated/${name(size)}.bin`, i % 2 ? incompressible(size, i + 11) : compressible(size)));

  const sources = [
    ...resolveSectionSources({
      workspaceRoot: root,
      projectRoot: project,
      version: VERSION,
      sources: [
        { from: 'render', to: 'render', render: true },
        { from: 'plain', to: 'plain' },
      ],
      projectFiles: Object.keys(files).filter((path) => path.startsWith(`${project}/`)),
    }),
    ...generated,
  ];
  assert.ok(
    sources.some((s) => s.renderVersion === VERSION),
    'the render mapping renders',
  );
  await packSection({
    workspaceRoot: root,
    section: SECTION,
    version: VERSION,
    sources,
    skipped: [],
    outputDir: join(root, 'dist/sections', SECTION),
    mtime: entryEpoch(),
  });
  release = await assembleFixture(root);
});

test('GNU tar lists every made file at its full size', () => {
  const listing = tool('tar', ['--numeric-owner', '-tzvf', release.tarGz]);
  const sizes = new Map<string, number>();
  for (const line of listing.trim().split('\n')) {
    const fields = line.split(/\s+/);
    sizes.set(fields[5], Number(fields[2]));
  }
  for (const [path, bytes] of expected) assert.is(sizes.get(`${TOP}/${path}`), bytes.length, `${path} in the tar listing`);
});

test('GNU tar extracts every made file with the bytes meant, the version rendered', () => {
  const into = tempDir('packer-large-made-untar');
  tool('tar', ['-xzf', release.tarGz, '-C', into]);
  for (const [path, bytes] of expected) {
    const got = readFileSync(join(into, TOP, path));
    assert.is(got.length, bytes.length, `${path}: length`);
    assert.ok(got.equals(bytes), `${path}: bytes`);
  }
  const huge = readFileSync(join(into, TOP, SECTION, 'render/huge.txt'), 'utf8');
  assert.ok(huge.includes(`SpaceTime VR ${VERSION} `), 'the version is rendered');
  assert.not.ok(huge.includes('{{version}}'), 'no version token is left');
});

test('the package folder and the zip hold the same bytes', () => {
  const into = tempDir('packer-large-made-unzip');
  tool('unzip', ['-q', release.zip, '-d', into]);
  for (const [path, bytes] of expected) {
    assert.ok(readFileSync(join(release.packageDir, path)).equals(bytes), `${path} in the package folder`);
    assert.ok(readFileSync(join(into, TOP, path)).equals(bytes), `${path} in the zip`);
  }
});

for (const kind of ['tar.gz', 'zip'] as const) {
  test(`the verifier accepts the .${kind}`, async () => {
    const report = await verifyPackage(kind === 'zip' ? release.zip : release.tarGz, kind, { keyFile: release.publicKey });
    assert.equal(report.failures, []);
    assert.ok(report.files >= expected.size, `${report.files} files verified`);
  });
}

test.after(cleanTempDirs);
test.run();
