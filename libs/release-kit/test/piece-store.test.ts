// The piece store: a section packed again with most of its files unchanged re-deflates only the
// changed ones, and its output is byte-identical to a pack made without the store. A damaged,
// foreign or locked store never changes a byte of the output.
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PieceStore } from '../src/archive/piece-store';
import { packSection } from '../src/section/packer';
import { fileStat, RACY_MS } from '../src/section/source-files';
import { SectionSource } from '../src/section/sources';
import { cleanTempDirs, compressible, incompressible, tempDir, writeTree } from './helpers';

const MiB = 1 << 20;
const OUTPUTS = ['fragment.json', 'tar-members.bin', 'zip-data.bin', 'made-files.bin'];

/** 300 small text files, one compressible 3 MiB file (parallel deflate) and one incompressible 2 MiB file (stored). */
function sectionTree(root: string): void {
  const files: Record<string, string | Buffer> = {};
  for (let i = 0; i < 300; i++) {
    files[`src/page-${String(i).padStart(3, '0')}.md`] = `# Page ${i}\n\n${'frame tick mesh '.repeat(50 + (i % 40))}\n`;
  }
  files['src/server.bin'] = compressible(3 * MiB);
  files['src/image.bin'] = incompressible(2 * MiB);
  writeTree(root, files);
}

function sources(root: string): SectionSource[] {
  return readdirSync(join(root, 'src'))
    .sort()
    .map((name) => {
      const file = join(root, 'src', name);
      const stat = statSync(file);
      return { path: name, origin: `src/${name}`, file, size: stat.size, sourceMode: 0o644, stat: fileStat(stat, Date.now()) };
    });
}

interface Packed {
  dir: string;
  hits: number;
  total: number;
  /** Source files known by their unchanged stat, not read. */
  known: number;
}

let counter = 0;
async function pack(root: string, store: string | undefined): Promise<Packed> {
  const dir = join(root, 'out', String(counter++));
  const lines: string[] = [];
  await packSection({
    workspaceRoot: root,
    section: 'docs',
    version: '1.0.0',
    sources: sources(root),
    skipped: [],
    outputDir: dir,
    mtime: 1_700_000_000,
    pieceStore: store,
    log: (line) => lines.push(line),
  });
  const [hits, total, known] = /(\d+) of (\d+) deflate pieces reused; (\d+) of/.exec(lines.join('\n'))?.slice(1).map(Number) ?? [0, 0, 0];
  return { dir, hits, total, known };
}

/** Past RACY_MS since the last write: the stats taken now are trusted by the next run. */
const settled = () => new Promise((resolve) => setTimeout(resolve, RACY_MS + 50));

function assertSameOutput(a: string, b: string): void {
  for (const name of OUTPUTS) assert.ok(readFileSync(join(a, name)).equals(readFileSync(join(b, name))), `${name} differs`);
}

test.after(cleanTempDirs);

test('an unchanged section reuses every piece, and a one-file change re-deflates that file and its batch only', async () => {
  const root = tempDir('piece-store');
  sectionTree(root);
  const store = join(root, 'store');
  await settled();
  const cold = await pack(root, store);
  assert.is(cold.hits, 0);
  assert.ok(cold.total > 300, `${cold.total} pieces`);
  assertSameOutput(cold.dir, (await pack(root, undefined)).dir);

  const warm = await pack(root, store);
  assert.is(warm.hits, warm.total, 'every piece from the store');
  assert.is(warm.known, 302, 'no file read again');
  assertSameOutput(warm.dir, cold.dir);

  appendFileSync(join(root, 'src/page-150.md'), 'one more line\n');
  await settled();
  const changed = await pack(root, store);
  // The file's zip piece and the tar batch that holds it.
  assert.is(changed.total - changed.hits, 2);
  assert.is(changed.known, 301, 'the changed file is read');
  assertSameOutput(changed.dir, (await pack(root, undefined)).dir);
});

test('a file whose stat changed is read again; one changed just before it was listed is not remembered', async () => {
  const root = tempDir('piece-store-stat');
  sectionTree(root);
  const store = join(root, 'store');
  await settled();
  const cold = await pack(root, store);
  // Same bytes, new times: read again, every piece reused.
  utimesSync(join(root, 'src/page-007.md'), new Date(), new Date(2000, 0, 1));
  utimesSync(join(root, 'src/server.bin'), new Date(), new Date(2000, 0, 1));
  await settled();
  const touched = await pack(root, store);
  assert.is(touched.known, 300);
  assert.is(touched.hits, touched.total);
  assertSameOutput(touched.dir, cold.dir);
  // Written and packed within the same clock tick: its stat is not trusted next time.
  writeFileSync(join(root, 'src/page-008.md'), 'new page\n');
  const racy = await pack(root, store);
  assert.is(racy.known, 301);
  await settled();
  const next = await pack(root, store);
  assert.is(next.known, 301, 'the racy file is read once more');
  assert.is((await pack(root, store)).known, 302, 'then remembered');
  assertSameOutput(next.dir, (await pack(root, undefined)).dir);
});

test('a changed large file is deflated again; an unchanged one is copied from the store', async () => {
  const root = tempDir('piece-store-large');
  sectionTree(root);
  const store = join(root, 'store');
  await pack(root, store);
  writeFileSync(join(root, 'src/server.bin'), Buffer.concat([compressible(3 * MiB), Buffer.from('changed')]));
  const changed = await pack(root, store);
  assert.is(changed.total - changed.hits, 3, 'the large file, and the tar batches with its header and its padding');
  assertSameOutput(changed.dir, (await pack(root, undefined)).dir);
});

test('damaged pieces are made again, never shipped', async () => {
  const root = tempDir('piece-store-damaged');
  sectionTree(root);
  const store = join(root, 'store');
  const cold = await pack(root, store);
  const packFile = join(
    store,
    readdirSync(store).find((n) => n.startsWith('pack-'))!,
  );
  const bytes = readFileSync(packFile);
  // Every 4 KiB, one byte flipped: small pieces and the large file's piece alike.
  for (let i = 100; i < bytes.length; i += 4096) bytes[i] ^= 0xff;
  writeFileSync(packFile, bytes);
  const again = await pack(root, store);
  assert.ok(again.hits < again.total, `${again.hits} of ${again.total} reused from a damaged pack`);
  assertSameOutput(again.dir, cold.dir);
  // The damaged entries were replaced: the next run reuses everything.
  const third = await pack(root, store);
  assert.is(third.hits, third.total);
  assertSameOutput(third.dir, cold.dir);
});

test('a truncated pack, an unreadable index and another deflate setting each count as an empty store', async () => {
  const root = tempDir('piece-store-broken');
  sectionTree(root);
  const store = join(root, 'store');
  const cold = await pack(root, store);
  const packFile = () =>
    join(
      store,
      readdirSync(store).find((n) => n.startsWith('pack-'))!,
    );

  writeFileSync(packFile(), readFileSync(packFile()).subarray(0, 1000));
  assertSameOutput((await pack(root, store)).dir, cold.dir);

  writeFileSync(join(store, 'index.json'), '{"format": 1, "entries": ');
  const unreadable = await pack(root, store);
  assert.is(unreadable.hits, 0);
  assertSameOutput(unreadable.dir, cold.dir);

  const index = JSON.parse(readFileSync(join(store, 'index.json'), 'utf8'));
  writeFileSync(join(store, 'index.json'), JSON.stringify({ ...index, settings: index.settings.replace(/"level":\d/, '"level":9') }));
  const foreign = await pack(root, store);
  assert.is(foreign.hits, 0, 'pieces of another setting are not used');
  assertSameOutput(foreign.dir, cold.dir);
  assert.is(readdirSync(store).filter((n) => n.startsWith('pack-')).length, 1, 'the foreign pack is removed');
});

test('a store another live process holds is not used; one a dead process left is taken over', async () => {
  const root = tempDir('piece-store-lock');
  sectionTree(root);
  const store = join(root, 'store');
  const cold = await pack(root, store);
  const holder = spawn('sleep', ['30']);
  try {
    writeFileSync(join(store, 'store.lock'), `${holder.pid}\n`);
    const locked = await pack(root, store);
    assert.is(locked.hits, 0);
    assertSameOutput(locked.dir, cold.dir);
    assert.is(readFileSync(join(store, 'store.lock'), 'utf8'), `${holder.pid}\n`, "the holder's lock stays");
  } finally {
    holder.kill();
  }
  await new Promise((resolve) => holder.once('exit', resolve));
  const taken = await pack(root, store);
  assert.is(taken.hits, taken.total, 'a stale lock is taken over');
});

test('pieces no recent run used are dropped, and the pack is compacted', async () => {
  const root = tempDir('piece-store-evict');
  sectionTree(root);
  const store = join(root, 'store');
  const packBytes = () =>
    readdirSync(store)
      .filter((n) => n.startsWith('pack-'))
      .reduce((sum, n) => sum + statSync(join(store, n)).size, 0);
  await pack(root, store);
  const first = packBytes();
  // Twenty versions of a large file that deflates to about half: each run adds a 3 MiB piece; old ones go.
  for (let i = 0; i < 20; i++) {
    const halves = Array.from({ length: 96 }, (_, j) => (j % 2 ? incompressible(64 << 10, 100 * i + j) : compressible(64 << 10)));
    writeFileSync(join(root, 'src/server.bin'), Buffer.concat(halves));
    await pack(root, store);
  }
  const { entries } = JSON.parse(readFileSync(join(store, 'index.json'), 'utf8')) as {
    entries: Record<string, { parts: Array<[number, number]> }>;
  };
  const large = Object.entries(entries).filter(([k, e]) => k.startsWith('chunked:') && e.parts.length);
  assert.is(large.length, 2, 'the large pieces of the last two runs');
  const live = Object.values(entries).reduce((sum, e) => sum + e.parts.reduce((s, [, n]) => s + n, 0), 0);
  assert.ok(live > 2 * 3 * MiB, `${live} live bytes`);
  assert.ok(packBytes() <= 2 * live + (16 << 20), `a pack of ${packBytes()} bytes for ${live} live bytes`);
  assert.ok(packBytes() < first + 20 * 3 * MiB, 'compacted');
});

test('keys name the kind of piece and the input digest', () => {
  assert.is.not(PieceStore.key('whole', 'ab'), PieceStore.key('chunked', 'ab'));
  const empty = PieceStore.open(undefined);
  assert.is(empty.get(PieceStore.key('whole', 'ab')), undefined);
  empty.put(PieceStore.key('whole', 'ab'), Buffer.from('x'));
  assert.is(empty.get(PieceStore.key('whole', 'ab')), undefined, 'a store with no folder keeps nothing');
  empty.close();
});

test.run();
