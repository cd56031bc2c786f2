import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TAR_BLOCK } from '../src/archive/tar-header';
import { centralDirectoryRecord, endOfCentralDirectory, localFileHeader, METHOD_STORE, ZipEntry } from '../src/archive/zip-records';
import { DEFAULT_LIMITS } from '../src/verifier/limits';
import { canonicalHeader, decodeHeader, headerDifferences, parsePax } from '../src/verifier/tar-blocks';
import { PackageKind, verifyPackage } from '../src/verifier/verify-package';
import { readZip } from '../src/verifier/zip-reader';
import type { AssembleResult } from '../src/assemble/assemble';
import { entryEpoch } from '../src/format/determinism';
import { packSection } from '../src/section/packer';
import { resolveSectionSources } from '../src/section/sources';
import { assembleFixture, buildFixtureRelease, fixtureWorkspace, packFixtureSections } from './fixture-release';
import { cleanTempDirs, compressible, incompressible, tempDir, writeTree } from './helpers';

const TOP = 'spacetime-vr-v1.2.3';
const LONG = `alpha/${'p'.repeat(100)}/${'q'.repeat(100)}/${'r'.repeat(120)}.md`;
let release: AssembleResult;

test.before(async () => {
  const root = fixtureWorkspace();
  // A path longer than ustar holds: the assembler writes its one PAX header form for it.
  // A file that deflates to more than a MiB: the zip reader inflates it as a stream.
  const text = compressible(6 << 20);
  const noise = incompressible(6 << 20, 3);
  for (let at = 0; at < text.length; at += 1024) noise.copy(text, at, at, at + 256);
  writeTree(root, { [`libs/sections/alpha/src/${LONG.slice('alpha/'.length)}`]: 'long\n', 'libs/sections/beta/src/mixed.bin': text });
  release = await buildFixtureRelease(root);
});

async function failuresOf(target: string, kind: PackageKind): Promise<string[]> {
  return (await verifyPackage(target, kind, { keyFile: release.publicKey })).failures;
}

/** A copy of `data` in a file of the archive's name, in a folder of its own. */
function copy(data: Buffer, kind: 'tar.gz' | 'zip'): string {
  const file = join(tempDir('hostile'), `${TOP}.${kind}`);
  writeFileSync(file, data);
  return file;
}

test('the assembled archives, with a PAX header for a long path, are in the canonical form', async () => {
  assert.match(gunzipSync(readFileSync(release.tarGz)).toString('latin1'), /\d+ path=spacetime-vr-v1\.2\.3\/alpha\/p{100}/);
  const zip = readFileSync(release.zip);
  const at = zip.indexOf(`${TOP}/beta/mixed.bin`, zip.length - 20000);
  assert.equal([zip.readUInt16LE(at - 46 + 10), zip.readUInt32LE(at - 46 + 20) > 1 << 20], [8, true], 'mixed.bin is deflated, over a MiB');
  assert.equal(await failuresOf(release.tarGz, 'tar.gz'), []);
  assert.equal(await failuresOf(release.zip, 'zip'), []);
});

/** Offsets of every byte the tar stream's structure is made of: headers, padding, the end blocks. */
function tarStructure(raw: Buffer): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (;;) {
    const header = raw.subarray(at, at + TAR_BLOCK);
    for (let i = 0; i < TAR_BLOCK; i++) offsets.push(at + i);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(header.subarray(124, 136).toString('latin1'), 8);
    const end = at + TAR_BLOCK + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
    for (let i = at + TAR_BLOCK + size; i < end; i++) offsets.push(i);
    at = end;
  }
  for (let i = at + TAR_BLOCK; i < raw.length; i++) offsets.push(i);
  return offsets;
}

/** Offsets of every byte of the zip's headers: local headers, central records, the end record. */
function zipStructure(zip: Buffer): number[] {
  const offsets: number[] = [];
  const end = zip.length - 22;
  const directory = zip.readUInt32LE(end + 16);
  for (let i = directory; i < zip.length; i++) offsets.push(i);
  for (let at = directory; at < end; at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32)) {
    const local = zip.readUInt32LE(at + 42);
    const length = 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    for (let i = local; i < local + length; i++) offsets.push(i);
  }
  return offsets;
}

test('every one-byte change to the tar structure or zip headers fails, as a failure line (no exception)', async () => {
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const raw = gunzipSync(readFileSync(release.tarGz));
  const zip = readFileSync(release.zip);
  const missed: string[] = [];
  for (const [kind, bytes, offsets] of [
    ['tar.gz', raw, tarStructure(raw)],
    ['zip', zip, zipStructure(zip)],
  ] as const) {
    for (let n = 0; n < 60; n++) {
      const at = offsets[random(offsets.length)];
      const changed = Buffer.from(bytes);
      changed[at] ^= 1 << random(8);
      const failures = await failuresOf(copy(kind === 'zip' ? changed : gzipSync(changed), kind), kind);
      if (!failures.length || failures.some((f) => /internal error/.test(f))) missed.push(`${kind} byte ${at}: ${failures.join(' | ')}`);
    }
  }
  assert.equal(missed, []);
});

test('foreign tar headers, a lone zero block and data after the end each fail naming the entry', async () => {
  const raw = gunzipSync(readFileSync(release.tarGz));
  const longName = Buffer.alloc(2 * TAR_BLOCK);
  raw.copy(longName, 0, 0, TAR_BLOCK);
  longName.write('././@LongLink\0', 0, 'latin1');
  longName[156] = 'L'.charCodeAt(0);
  const name = `${TOP}/evil.sh\0`;
  longName.write(`${name.length.toString(8).padStart(10, '0')} \0`, 124, 'latin1');
  longName.fill(0x20, 148, 156);
  longName.write(
    `${longName
      .subarray(0, TAR_BLOCK)
      .reduce((s, b) => s + b, 0)
      .toString(8)
      .padStart(6, '0')} \0`,
    148,
    'latin1',
  );
  longName.write(name, TAR_BLOCK, 'latin1');
  const cases: Array<[Buffer, RegExp]> = [
    [
      Buffer.concat([longName, raw]),
      new RegExp(`${TOP}/: preceded by a GNU long name header at offset 0 \\(naming it "${TOP}/evil\\.sh"\\)`),
    ],
    [
      Buffer.concat([raw.subarray(0, TAR_BLOCK), Buffer.alloc(TAR_BLOCK), raw.subarray(TAR_BLOCK)]),
      /a lone zero block at offset 512, followed by the entry/,
    ],
    [Buffer.concat([raw, raw.subarray(0, TAR_BLOCK)]), new RegExp(`${TOP}/: an entry after the end-of-archive blocks`)],
  ];
  for (const [changed, expected] of cases) {
    const failures = await failuresOf(copy(gzipSync(changed), 'tar.gz'), 'tar.gz');
    assert.ok(
      failures.some((f) => expected.test(f)),
      failures.join('\n'),
    );
  }
});

test('overlapping zip entries stop the read before the second inflates', async () => {
  const zip = readFileSync(release.zip);
  const end = zip.length - 22;
  const directory = zip.readUInt32LE(end + 16);
  const first = zip.subarray(directory, end);
  // The central directory twice over: every entry's data read a second time, from the same offsets.
  const count = zip.readUInt16LE(end + 10);
  const twice = Buffer.concat([zip.subarray(0, directory), first, first, endOfCentralDirectory(2 * count, 2 * first.length, directory)]);
  const failures = await failuresOf(copy(twice, 'zip'), 'zip');
  assert.match(
    failures.join('\n'),
    new RegExp(`${TOP}/: (appears twice|its local header is at offset 0, but the entry before it ends at \\d+)`),
  );
});

test('a security section without reports/: the checklist the assembler adds has no folder entry, and the package verifies', async () => {
  const root = fixtureWorkspace();
  const config = join(root, 'libs/release/release.config.json');
  writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), sections: ['alpha', 'beta', 'security'] }));
  writeTree(root, { 'libs/sections/security/src/policy.md': 'policy\n' });
  await packFixtureSections(root);
  await packSection({
    workspaceRoot: root,
    section: 'security',
    version: '1.2.3',
    sources: resolveSectionSources({
      workspaceRoot: root,
      projectRoot: 'libs/sections/security',
      version: '1.2.3',
      sources: [{ from: 'src', to: '.' }],
    }),
    skipped: [],
    outputDir: join(root, 'dist/sections/security'),
    mtime: entryEpoch(),
  });
  const built = await assembleFixture(root);
  const names = parseZipNames(readFileSync(built.zip));
  assert.ok(names.includes(`${TOP}/security/reports/security-checklist.md`) && !names.includes(`${TOP}/security/reports/`));
  for (const [target, kind] of [
    [built.tarGz, 'tar.gz'],
    [built.zip, 'zip'],
  ] as const)
    assert.equal((await verifyPackage(target, kind, { keyFile: built.publicKey })).failures, []);
});

function parseZipNames(zip: Buffer): string[] {
  const names: string[] = [];
  const end = zip.length - 22;
  for (
    let at = zip.readUInt32LE(end + 16);
    at < end;
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32)
  )
    names.push(zip.subarray(at + 46, at + 46 + zip.readUInt16LE(at + 28)).toString('utf8'));
  return names;
}

test('the header of a file over 8 GiB (a PAX size) and of a long folder path decode to the very bytes the assembler writes', () => {
  for (const [path, folder, size] of [
    [`${TOP}/beta/huge.bin`, false, 9 * 2 ** 30],
    [`${TOP}/${'d'.repeat(120)}/${'e'.repeat(120)}`, true, 0],
  ] as const) {
    const written = canonicalHeader(path, folder, size, folder ? 0o755 : 0o644, 315532800)!;
    const block = written.subarray(written.length - TAR_BLOCK);
    const pax = parsePax(written.subarray(TAR_BLOCK, written.length - TAR_BLOCK));
    const decoded = decodeHeader(block);
    assert.equal(pax.problems, []);
    const name = (pax.path ?? decoded.path).replace(/\/$/, '');
    assert.is(name, path);
    assert.equal(headerDifferences(written, canonicalHeader(name, folder, pax.size ?? decoded.size, decoded.mode, decoded.mtime)), []);
  }
});

test('a zip of 70,000 entries, with Zip64 end records, reads in the canonical form', async () => {
  const mtime = 315532800;
  const entry = (name: string, directory: boolean): ZipEntry => ({
    name,
    directory,
    method: METHOD_STORE,
    crc32: crc32(Buffer.alloc(0)),
    compressedSize: 0,
    size: 0,
    mode: 0o755 - (directory ? 0 : 0o111),
    mtime,
  });
  const entries = [entry(TOP, true), entry(`${TOP}/many`, true)];
  for (let i = 0; i < 70000; i++) entries.push(entry(`${TOP}/many/${String(i).padStart(6, '0')}.txt`, false));
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const local = localFileHeader(e);
    centrals.push(centralDirectoryRecord(e, offset));
    locals.push(local);
    offset += local.length;
  }
  const directory = Buffer.concat(centrals);
  const zip = Buffer.concat([...locals, directory, endOfCentralDirectory(entries.length, directory.length, offset)]);
  assert.ok(zip.subarray(zip.length - 98).readUInt32LE(0) === 0x06064b50, 'Zip64 end records');
  const failures: string[] = [];
  const contents = await readZip(copy(zip, 'zip'), DEFAULT_LIMITS, (line) => failures.push(line));
  assert.equal(failures, []);
  assert.is(contents?.files.size, 70000);
});

test.after(cleanTempDirs);
test.run();
