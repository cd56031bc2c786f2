// Bad input, case by case: every broken input ends in a clear error naming the file or option,
// a non-zero exit, and nothing lost or half-written. One workspace copy and one assembled
// baseline serve every case; each case's break is undone before the next.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipSync } from 'node:zlib';
import { CraftedTarEntry, CraftedZipEntry, tarGz, zip } from './crafted-archives';
import { HostileCase } from './hostile/corpus';
import { hostileCorpus } from './hostile/build';
import { cleanUp, copyWorkspace, git, nx, sh, tempDir } from './workspace';

const TOP = 'spacetime-vr-v2.5.0';
const started = Date.now();
let ws = '';
let release = '';
let keys = '';
let crafted = '';
let env: NodeJS.ProcessEnv = {};
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const at = (path: string) => join(ws, path);
const write = (path: string, content: string | Buffer) => {
  mkdirSync(join(at(path), '..'), { recursive: true });
  writeFileSync(at(path), content);
};
const editJson = (path: string, edit: (json: any) => void) => {
  const json = JSON.parse(readFileSync(at(path), 'utf8'));
  edit(json);
  writeFileSync(at(path), JSON.stringify(json, null, 2));
};

test.before(async () => {
  ws = copyWorkspace('corpus');
  release = at('dist/release');
  keys = tempDir('corpus-keys');
  crafted = tempDir('corpus-archives');
  env = { XDG_CONFIG_HOME: join(keys, 'config') };
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  const protectedKey = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Corpus' }],
    passphrase: 'right horse battery',
    format: 'armored',
  });
  writeFileSync(join(keys, 'protected.asc'), protectedKey.privateKey, { mode: 0o600 });
  const day = 86400;
  const expired = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Expired' }],
    date: new Date(Date.now() - 10 * day * 1000),
    keyExpirationTime: day,
    format: 'armored',
  });
  writeFileSync(join(keys, 'expired.asc'), expired.privateKey, { mode: 0o600 });
  const other = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Other' }], format: 'armored' });
  writeFileSync(join(keys, 'other.asc'), other.publicKey);
  writeFileSync(join(keys, 'not-a-key.asc'), 'this is not a key\n');
});

/** What a recipient has: the archives' bytes and the folder's signed lists. */
function snapshot(): string[] {
  return [`${TOP}.tar.gz`, `${TOP}.zip`, `${TOP}/SHA256SUMS`, `${TOP}/MANIFEST.json`, 'verify-release.mjs'].map(
    (p) => `${p} ${sha(join(release, p))}`,
  );
}

function partialsLeft(): string[] {
  return ['dist/release', 'dist/sections'].flatMap((dir) =>
    readdirSync(at(dir))
      .filter((n) => n.startsWith('.partial-'))
      .map((n) => `${dir}/${n}`),
  );
}

function verifier(args: string[]) {
  const r = spawnSync(process.execPath, [join(release, 'verify-release.mjs'), ...args], { cwd: ws, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
}

function restore(): void {
  git(ws, 'checkout', '-q', '--', '.');
  git(ws, 'clean', '-qfd', 'libs', 'VERSION');
}

// ---------------------------------------------------------------------------------------------
// Inputs the build reads: each case breaks one, runs the target that reads it, expects `expected`.

// Nx does not hash every kind of new source (symlinks to folders, dangling links, FIFOs, names
// that are not UTF-8): without --skip-nx-cache it would replay the cached package.
const PACKAGE = (project: string) => ['run', `${project}:package`, '--skip-nx-cache'];
// The sections are cached from the baseline: only the assembly itself runs.
const ASSEMBLE = ['run', 'release:assemble', '--excludeTaskDependencies'];
const SIGNING = (key: string, passphrase?: string) => ({
  RELEASE_SIGNING_KEY: join(keys, key),
  ...(passphrase ? { RELEASE_SIGNING_PASSPHRASE: passphrase } : {}),
});

interface BuildCase {
  name: string;
  run: string[];
  breakIt?: () => void;
  env?: () => NodeJS.ProcessEnv;
  expected: RegExp;
  /** Set up around the run (mounts); returns the undo, or a reason to skip. */
  around?: () => (() => void) | string;
  /** Text that must not appear in the output. */
  secret?: string;
}

const longName = 'd'.repeat(200);

const buildCases: BuildCase[] = [
  {
    name: 'VERSION "2.5" (two parts)',
    run: ASSEMBLE,
    breakIt: () => write('VERSION', '2.5\n'),
    expected: /VERSION:1: "2\.5" is not a semantic version/,
  },
  {
    name: 'VERSION "v2.5.0" (a tag, not a version)',
    run: ASSEMBLE,
    breakIt: () => write('VERSION', 'v2.5.0\n'),
    expected: /VERSION:1: "v2\.5\.0" is not a semantic version/,
  },
  {
    name: 'VERSION "2.5.0.1" (four parts)',
    run: ASSEMBLE,
    breakIt: () => write('VERSION', '2.5.0.1\n'),
    expected: /VERSION:1: "2\.5\.0\.1" is not a semantic version/,
  },
  {
    name: 'VERSION "01.2.3" (a leading zero)',
    run: ASSEMBLE,
    breakIt: () => write('VERSION', '01.2.3\n'),
    expected: /VERSION:1: "01\.2\.3" is not a semantic version/,
  },
  { name: 'VERSION empty', run: ASSEMBLE, breakIt: () => write('VERSION', ''), expected: /VERSION/ },
  {
    name: 'VERSION of two lines',
    run: ASSEMBLE,
    breakIt: () => write('VERSION', '2.5.0\n2.6.0\n'),
    expected: /VERSION:\d?:? ?.*(semantic version|one line)/,
  },
  {
    name: 'libs/release/release.config.json with broken JSON',
    run: ASSEMBLE,
    breakIt: () => write('libs/release/release.config.json', '{\n  "sections": [\n}\n'),
    expected: /libs\/release\/release\.config\.json:3: invalid JSON/,
  },
  {
    name: 'libs/release/release.config.json naming a section that does not exist',
    run: ASSEMBLE,
    breakIt: () => editJson('libs/release/release.config.json', (c) => c.sections.push('licenses')),
    expected: /dist\/sections\/licenses/,
  },
  {
    name: 'libs/release/release.config.json with "sections" not a list',
    run: ASSEMBLE,
    breakIt: () => editJson('libs/release/release.config.json', (c) => (c.sections = 'docs')),
    expected: /libs\/release\/release\.config\.json.*sections/,
  },
  {
    name: 'libs/release/release.config.json naming a missing checklist template',
    run: ASSEMBLE,
    breakIt: () => editJson('libs/release/release.config.json', (c) => (c.templates.checklist = 'templates/gone.md')),
    expected: /libs\/release\/templates\/gone\.md/,
  },
  {
    name: 'package-lock.json with broken JSON',
    run: ASSEMBLE,
    breakIt: () => write('package-lock.json', '{ "lockfileVersion": 3,'),
    expected: /package-lock\.json/,
  },
  {
    name: 'release:assemble --compress=9 (an unknown option)',
    run: [...ASSEMBLE, '--compress=9'],
    expected: /'compress' is not found in schema/,
  },
  {
    name: 'RELEASE_SIGNING_PASSPHRASE that does not unlock the key',
    run: ASSEMBLE,
    env: () => SIGNING('protected.asc', 'wrong-passphrase-4711'),
    expected: /protected\.asc: RELEASE_SIGNING_PASSPHRASE does not unlock this key/,
    secret: 'wrong-passphrase-4711',
  },
  {
    name: 'RELEASE_SIGNING_KEY protected, RELEASE_SIGNING_PASSPHRASE unset',
    run: ASSEMBLE,
    env: () => SIGNING('protected.asc'),
    expected: /protected\.asc: the key is protected by a passphrase; set RELEASE_SIGNING_PASSPHRASE/,
  },
  {
    name: 'RELEASE_SIGNING_KEY expired',
    run: ASSEMBLE,
    env: () => SIGNING('expired.asc'),
    expected: /expired\.asc: the signing key [0-9A-F]+ expired on/,
  },
  {
    name: 'RELEASE_SIGNING_KEY naming a missing file',
    run: ASSEMBLE,
    env: () => SIGNING('missing.asc'),
    expected: /missing\.asc: RELEASE_SIGNING_KEY names a file that cannot be read/,
  },
  {
    name: 'RELEASE_SIGNING_KEY naming a file that is not a key',
    run: ASSEMBLE,
    env: () => SIGNING('not-a-key.asc'),
    expected: /not-a-key\.asc: is not an ASCII-armored OpenPGP private key/,
  },
  {
    name: 'GPG_KEY_ID that is not in the keyring',
    run: ASSEMBLE,
    env: () => ({ GPG_KEY_ID: '0xDEADBEEFDEADBEEF', GNUPGHOME: tempDir('gnupg') }),
    expected: /GPG_KEY_ID=0xDEADBEEFDEADBEEF/,
  },
  {
    name: 'dist/release on a full disk (a tmpfs with 256 KiB free)',
    run: ASSEMBLE,
    env: () => ({ BUILD_USER: 'full-disk' }),
    around: () => mountOverRelease('tmpfs'),
    expected: /ERROR dist\/release\S*: cannot \w+: ENOSPC \(no space left on device\)/,
  },
  {
    name: 'dist/release read-only (a read-only bind mount)',
    run: ASSEMBLE,
    env: () => ({ BUILD_USER: 'read-only' }),
    around: () => mountOverRelease('bind'),
    expected: /ERROR dist\/release\S*: cannot \w+: EROFS \(read-only file system\)/,
  },
  {
    name: 'libs/sections/docs/openapi/spacetime-api.yaml with broken YAML',
    run: PACKAGE('docs'),
    breakIt: () => write('libs/sections/docs/openapi/spacetime-api.yaml', 'openapi: 3.0.3\ninfo:\n  title: [unclosed\npaths: {}\n'),
    expected: /libs\/sections\/docs\/openapi\/spacetime-api\.yaml:\d+: invalid YAML/,
  },
  {
    name: 'libs/sections/docs/openapi/spacetime-api.yaml with a duplicate key',
    run: PACKAGE('docs'),
    breakIt: () =>
      write('libs/sections/docs/openapi/spacetime-api.yaml', 'openapi: 3.0.3\nopenapi: 3.0.3\ninfo: {title: x, version: "1"}\npaths: {}\n'),
    expected: /libs\/sections\/docs\/openapi\/spacetime-api\.yaml:\d+: invalid YAML/,
  },
  {
    name: 'libs/sections/tests/project.json with broken JSON',
    run: PACKAGE('tests'),
    breakIt: () => write('libs/sections/tests/project.json', '{ "name": "tests", '),
    expected: /libs\/sections\/tests\/project\.json/,
  },
  {
    name: 'libs/sections/tests/src missing (a section without sources)',
    run: PACKAGE('tests'),
    breakIt: () => rmSync(at('libs/sections/tests/src'), { recursive: true }),
    expected: /libs\/sections\/tests\/src: the section source folder is missing/,
  },
  {
    name: 'package option compressionLevel (unknown)',
    run: PACKAGE('monitoring'),
    breakIt: () => editJson('libs/sections/monitoring/project.json', (p) => (p.targets.package.options.compressionLevel = 9)),
    expected: /compressionLevel/,
  },
  {
    name: 'package option sources of the wrong type',
    run: PACKAGE('monitoring'),
    breakIt: () => editJson('libs/sections/monitoring/project.json', (p) => (p.targets.package.options.sources = 'src')),
    expected: /sources/,
  },
  {
    name: 'package option generate of an unknown kind',
    run: PACKAGE('scripts'),
    breakIt: () =>
      editJson('libs/sections/scripts/project.json', (p) => (p.targets.package.options.generate = [{ kind: 'checksums', to: 'x' }])),
    expected: /kind/,
  },
  {
    name: 'package option generate "to" a 300-byte name',
    run: PACKAGE('scripts'),
    breakIt: () =>
      editJson(
        'libs/sections/scripts/project.json',
        (p) => (p.targets.package.options.generate[0].to = `maintenance/${'v'.repeat(300)}.mjs`),
      ),
    expected:
      /libs\/sections\/scripts\/project\.json \(generate release-verifier -> maintenance\/v+\.mjs\): cannot be archived safely: a name is longer than 255 bytes/,
  },
  {
    name: 'package option sources "to" ../outside',
    run: PACKAGE('monitoring'),
    breakIt: () =>
      editJson('libs/sections/monitoring/project.json', (p) => (p.targets.package.options.sources = [{ from: 'src', to: '../outside' }])),
    expected: /libs\/sections\/monitoring\/project\.json \(sources "\.\.\/outside" -> .*\): cannot be archived safely/,
  },
  {
    name: 'a symlink that leaves the workspace (config/production/hostname)',
    run: PACKAGE('config'),
    breakIt: () => symlinkSync('/etc/hostname', at('libs/sections/config/src/production/hostname')),
    expected: /libs\/sections\/config\/src\/production\/hostname: is a symlink that leaves the workspace/,
  },
  {
    name: 'a symlink loop (config/loop-a -> loop-b -> loop-a)',
    run: PACKAGE('config'),
    breakIt: () => (
      symlinkSync('loop-b', at('libs/sections/config/src/loop-a')),
      symlinkSync('loop-a', at('libs/sections/config/src/loop-b'))
    ),
    expected: /libs\/sections\/config\/src\/loop-a: is a symlink loop/,
  },
  {
    name: 'a folder symlink to its parent (config/production/again -> ..)',
    run: PACKAGE('config'),
    breakIt: () => symlinkSync('..', at('libs/sections/config/src/production/again')),
    expected: /libs\/sections\/config\/src\/production\/again: is a symlink loop/,
  },
  {
    name: 'a dangling symlink (config/gone)',
    run: PACKAGE('config'),
    breakIt: () => symlinkSync('nowhere', at('libs/sections/config/src/gone')),
    expected: /libs\/sections\/config\/src\/gone: is a symlink whose target does not exist/,
  },
  {
    name: 'a newline in a file name (security/policies/new\\nline.md)',
    run: PACKAGE('security'),
    breakIt: () => write('libs/sections/security/src/policies/new\nline.md', 'x'),
    expected: /libs\/sections\/security\/src\/policies\/new\nline\.md: cannot be archived safely/,
  },
  {
    name: 'a file name that is not UTF-8 (security/policies/caf\\xe9.md)',
    run: PACKAGE('security'),
    breakIt: () => sh(ws, "printf x > libs/sections/security/src/policies/caf$'\\xe9'.md"),
    expected: /libs\/sections\/security\/src\/policies\/caf.*\.md: cannot be archived safely: its name is not valid UTF-8/,
  },
  {
    name: 'a file name with a Windows-reserved character (security/policies/a:b.md)',
    run: PACKAGE('security'),
    breakIt: () => write('libs/sections/security/src/policies/a:b.md', 'x'),
    expected: /libs\/sections\/security\/src\/policies\/a:b\.md: cannot be archived safely: its name contains the character ":"/,
  },
  {
    name: 'a file name ending in a space (security/policies/trailing .md )',
    run: PACKAGE('security'),
    breakIt: () => write('libs/sections/security/src/policies/trailing.md ', 'x'),
    expected: /libs\/sections\/security\/src\/policies\/trailing\.md : cannot be archived safely: a name ends with a space or a dot/,
  },
  {
    name: 'a FIFO in the sources (security/policies/pipe)',
    run: PACKAGE('security'),
    breakIt: () => sh(ws, 'mkfifo libs/sections/security/src/policies/pipe'),
    expected: /libs\/sections\/security\/src\/policies\/pipe: is not a regular file or folder/,
  },
  {
    name: 'a 9 GiB sparse file (tests/huge.bin, over maxFileBytes)',
    run: PACKAGE('tests'),
    breakIt: () => sh(ws, 'truncate -s 9G libs/sections/tests/src/huge.bin'),
    expected: /libs\/sections\/tests\/src\/huge\.bin: is 9663676416 bytes, more than maxFileBytes \(8589934592\)/,
  },
  {
    name: 'a path beyond PATH_MAX (docs/d{200}/... 21 levels)',
    run: PACKAGE('docs'),
    // Made level by level with relative paths: no single call may exceed PATH_MAX.
    breakIt: () => sh(ws, `cd libs/sections/docs/src && for i in $(seq 21); do mkdir ${longName} && cd ${longName}; done && echo x > f`),
    expected:
      /libs\/sections\/docs\/src\/(d{200}\/)+\S*: cannot \w+: ENAMETOOLONG|cannot be archived safely: its path is longer than 4096 bytes/,
  },
];

/** Mounts over dist/release (as root): a copy of it on a tmpfs with little room left, or itself read-only. */
function mountOverRelease(kind: 'tmpfs' | 'bind'): (() => void) | string {
  const saved = tempDir('release-before-mount');
  cpSync(release, saved, { recursive: true });
  const mount =
    kind === 'tmpfs'
      ? // Sized from the copy, not from dist/release: cpSync does not keep the spare folder's hard links, so the copy is the larger.
        sh(ws, `mount -t tmpfs -o size=$(( $(du -sk ${saved} | cut -f1) + 256 ))k tmpfs dist/release && cp -a ${saved}/. dist/release/`)
      : sh(ws, 'mount --bind dist/release dist/release && mount -o remount,ro,bind dist/release');
  if (mount.status !== 0) {
    sh(ws, 'umount dist/release');
    return `mount failed (${mount.output.trim().split('\n')[0]})`;
  }
  return () => assert.is(sh(ws, 'umount dist/release').status, 0, 'umount dist/release');
}

for (const c of buildCases) {
  test(`${c.name}: a clear error, and the previous package kept whole`, () => {
    const before = snapshot();
    c.breakIt?.();
    const undo = c.around?.();
    if (typeof undo === 'string') {
      restore();
      console.log(`  SKIPPED "${c.name}": ${undo}`);
      return;
    }
    try {
      const run = nx(ws, c.run, { ...env, ...c.env?.() });
      assert.is.not(run.status, 0, run.output);
      assert.match(run.output, c.expected);
      if (c.secret) assert.not.ok(run.output.includes(c.secret), 'the secret was echoed');
      assert.equal(snapshot(), before, 'the package at the final paths changed');
      assert.equal(partialsLeft(), [], 'partial files left behind');
    } finally {
      undo?.();
      if (c.name.includes('PATH_MAX')) sh(ws, `rm -rf libs/sections/docs/src/${longName}`);
      restore();
    }
    assert.equal(snapshot(), before);
    assert.is(verifier([join(release, TOP)]).status, 0, 'the kept package still verifies');
  });
}

// ---------------------------------------------------------------------------------------------
// Legal but unusual names: they must work, and arrive intact in both archives.

const unusualNames = [
  { name: 'a file name with spaces (docs/release notes draft.md)', path: 'docs/release notes draft.md' },
  {
    name: 'a 330-byte path (PAX header in the tar, plain in the zip)',
    path: `docs/${'p'.repeat(100)}/${'q'.repeat(100)}/${'r'.repeat(120)}.md`,
  },
];

for (const { name, path } of unusualNames) {
  test(`${name}: packaged, verified, intact in both archives`, () => {
    write(`libs/sections/${path.replace(/^docs\//, 'docs/src/')}`, `content of ${path}\n`);
    try {
      const run = nx(ws, ['run', 'release:assemble'], env);
      assert.is(run.status, 0, run.output);
      const inTar = sh(release, `tar -xzOf ${TOP}.tar.gz '${TOP}/${path}'`);
      assert.is(inTar.output, `content of ${path}\n`);
      const inZip = sh(release, `unzip -p ${TOP}.zip '${TOP}/${path}'`);
      assert.is(inZip.output, `content of ${path}\n`);
      for (const target of [TOP, `${TOP}.tar.gz`, `${TOP}.zip`]) assert.is(verifier([join(release, target)]).status, 0, target);
    } finally {
      restore();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// What a recipient may be handed: the standalone verifier on crafted and damaged input.

const entry = (path: string, extra: Partial<CraftedTarEntry> = {}): CraftedTarEntry => ({ path: `${TOP}/${path}`, data: 'x\n', ...extra });
const zipEntry = (name: string, extra: Partial<CraftedZipEntry> = {}): CraftedZipEntry => ({
  name: `${TOP}/${name}`,
  data: 'x\n',
  ...extra,
});
const real = (name: string) => readFileSync(join(release, name));
const flipped = (data: Buffer, offset: number) => {
  const copy = Buffer.from(data);
  copy[offset] ^= 0xff;
  return copy;
};

interface VerifierCase {
  name: string;
  /** The input to hand over: a crafted file (name and bytes), or verifier arguments as they are. */
  file?: [string, () => Buffer];
  args?: (file: string) => string[];
  status: 1 | 2;
  expected: RegExp;
}

const verifierCases: VerifierCase[] = [
  { name: 'no arguments', args: () => [], status: 2, expected: /no package given/ },
  { name: 'an unknown option --bogus', args: () => ['--bogus', join(release, TOP)], status: 2, expected: /Unknown option '--bogus'/ },
  {
    name: 'two packages at once',
    args: () => [join(release, TOP), join(release, `${TOP}.zip`)],
    status: 2,
    expected: /one package at a time/,
  },
  {
    name: 'a path that does not exist',
    args: () => [join(release, 'nothing.tar.gz')],
    status: 2,
    expected: /nothing\.tar\.gz: does not exist/,
  },
  {
    name: 'a file that is no package (verify-release.mjs itself)',
    args: () => [join(release, 'verify-release.mjs')],
    status: 2,
    expected: /verify-release\.mjs: is not a package folder, \.tar\.gz or \.zip/,
  },
  {
    name: '--key naming a missing file',
    args: () => [join(release, TOP), '--key', 'missing.asc'],
    status: 2,
    expected: /--key missing\.asc: does not exist/,
  },
  {
    name: '--fingerprint that is not hex',
    args: () => [join(release, TOP), '--fingerprint', 'xyz'],
    status: 2,
    expected: /--fingerprint xyz: not a 40 or 64 digit hex fingerprint/,
  },
  {
    name: '--max-entries that is not a number',
    args: () => [join(release, TOP), '--max-entries', 'many'],
    status: 2,
    expected: /--max-entries many: not a positive whole number/,
  },
  {
    name: '--fingerprint of another key',
    args: () => [join(release, TOP), '--fingerprint', 'AB'.repeat(20)],
    status: 1,
    expected: /signature: .*is not the expected ABAB/,
  },
  {
    name: '--key of another key',
    args: () => [join(release, `${TOP}.tar.gz`), '--key', join(keys, 'other.asc')],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\.tar\.gz: signature: SHA256SUMS\.asc is not a valid signature of SHA256SUMS by other\.asc/,
  },
  {
    name: 'the package folder renamed to another version',
    args: (f) => [f],
    file: ['spacetime-vr-v9.9.9', () => Buffer.alloc(0)],
    status: 1,
    expected: /MANIFEST\.json: version 2\.5\.0 does not match the folder name spacetime-vr-v9\.9\.9/,
  },
  { name: 'an empty .tar.gz', file: ['empty.tar.gz', () => Buffer.alloc(0)], status: 1, expected: /empty\.tar\.gz: cannot be read/ },
  {
    name: 'a truncated .tar.gz (first half)',
    file: ['truncated.tar.gz', () => real(`${TOP}.tar.gz`).subarray(0, real(`${TOP}.tar.gz`).length >> 1)],
    status: 1,
    expected: /truncated\.tar\.gz: cannot be read: unexpected end of file/,
  },
  {
    name: 'a .tar.gz whose gzip CRC is wrong',
    file: ['bad-crc.tar.gz', () => flipped(real(`${TOP}.tar.gz`), real(`${TOP}.tar.gz`).length - 8)],
    status: 1,
    expected: /bad-crc\.tar\.gz: cannot be read: incorrect data check/,
  },
  {
    name: 'a .tar.gz that is gzip of no tar',
    file: ['not-tar.tar.gz', () => gzipSync(Buffer.from('just text, no tar headers\n'.repeat(40)))],
    status: 1,
    expected: /not-tar\.tar\.gz: cannot be read/,
  },
  {
    name: 'a .tar.gz with a symlink',
    file: ['symlink.tar.gz', () => tarGz([entry('scripts/passwd', { type: 'SymbolicLink', linkpath: '/etc/passwd', data: '' })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/scripts\/passwd: is a symlink; a package holds only files and folders/,
  },
  {
    name: 'a .tar.gz with a hard link',
    file: ['hardlink.tar.gz', () => tarGz([entry('a.txt'), entry('b.txt', { type: 'Link', linkpath: `${TOP}/a.txt`, data: '' })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/b\.txt: is a hard link/,
  },
  {
    name: 'a .tar.gz with a character device',
    file: ['device.tar.gz', () => tarGz([entry('null', { type: 'CharacterDevice', data: '' })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/null: is a device/,
  },
  {
    name: 'a .tar.gz with a FIFO',
    file: ['fifo.tar.gz', () => tarGz([entry('pipe', { type: 'FIFO', data: '' })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/pipe: is a fifo/,
  },
  {
    name: 'a .tar.gz with a duplicate entry',
    file: ['duplicate.tar.gz', () => tarGz([entry('a.txt'), entry('a.txt', { data: 'evil\n' })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/a\.txt: appears twice/,
  },
  {
    name: 'a .tar.gz with a ../ path',
    file: ['traversal.tar.gz', () => tarGz([entry('../../etc/cron.d/evil')])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/\.\.\/\.\.\/etc\/cron\.d\/evil: unsafe entry name \(a "\.\." part\)/,
  },
  {
    name: 'a .tar.gz with an absolute path',
    file: ['absolute.tar.gz', () => tarGz([{ path: '/etc/cron.d/evil', data: 'x' }])],
    status: 1,
    expected: /\/etc\/cron\.d\/evil: unsafe entry name \(an absolute path\)/,
  },
  {
    name: 'a .tar.gz whose header claims more bytes than its data',
    file: ['short-data.tar.gz', () => tarGz([entry('a.txt', { size: 4096 })])],
    status: 1,
    expected: /short-data\.tar\.gz: (cannot be read|spacetime-vr-v2\.5\.0\/a\.txt: its header says 4096 bytes)/,
  },
  {
    name: 'a .tar.gz bomb (40 MiB of zeros)',
    file: ['bomb.tar.gz', () => tarGz([entry('zeros.bin', { data: Buffer.alloc(40 << 20) })])],
    status: 1,
    expected: /bomb\.tar\.gz: expands more than 200 times \(limit --max-ratio\)/,
  },
  {
    name: 'a .tar.gz over --max-bytes 100000',
    args: () => [join(release, `${TOP}.tar.gz`), '--max-bytes', '100000'],
    status: 1,
    expected: /more than 100000 uncompressed bytes \(limit --max-bytes\)/,
  },
  {
    name: 'a .zip over --max-entries 10',
    args: () => [join(release, `${TOP}.zip`), '--max-entries', '10'],
    status: 1,
    expected: /entries, more than 10 \(limit --max-entries\)/,
  },
  {
    name: 'a .zip that is random bytes',
    file: ['random.zip', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff))],
    status: 1,
    expected: /random\.zip: cannot be read/,
  },
  {
    name: 'a .zip truncated (central directory cut off)',
    file: ['truncated.zip', () => real(`${TOP}.zip`).subarray(0, real(`${TOP}.zip`).length - 100)],
    status: 1,
    expected: /truncated\.zip: cannot be read/,
  },
  {
    name: 'a .zip whose entry fails its CRC-32',
    file: ['bad-crc.zip', () => zip([zipEntry('a.txt', { crc: 0x12345678 })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/a\.txt: CRC-32 mismatch/,
  },
  {
    name: 'a .zip with a ../ path',
    file: ['traversal.zip', () => zip([zipEntry('../../evil.sh')])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/\.\.\/\.\.\/evil\.sh: unsafe entry name \(a "\.\." part\)/,
  },
  {
    name: 'a .zip with an absolute path',
    file: ['absolute.zip', () => zip([{ name: '/tmp/evil.sh', data: 'x' }])],
    status: 1,
    expected: /\/tmp\/evil\.sh: unsafe entry name \(an absolute path\)/,
  },
  {
    name: 'a .zip with a backslash path',
    file: ['backslash.zip', () => zip([zipEntry('..\\..\\evil.bat')])],
    status: 1,
    expected: /unsafe entry name \(a backslash in its name\)/,
  },
  {
    name: 'a .zip with a symlink',
    file: ['symlink.zip', () => zip([zipEntry('passwd', { data: '/etc/passwd', mode: 0o120777 })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/passwd: is a symlink/,
  },
  {
    name: 'a .zip with a duplicate entry',
    file: ['duplicate.zip', () => zip([zipEntry('a.txt'), zipEntry('a.txt', { data: 'evil\n' })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/a\.txt: appears twice/,
  },
  {
    name: 'a .zip whose local header names another file',
    file: ['local-header.zip', () => zip([zipEntry('a.txt', { localName: `${TOP}/b.txt` })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/a\.txt: the local header disagrees with the central directory \(name/,
  },
  {
    name: 'a .zip bomb (20 MiB of zeros deflated)',
    file: ['bomb.zip', () => zip([zipEntry('zeros.bin', { data: Buffer.alloc(20 << 20), deflate: true })])],
    status: 1,
    expected: /spacetime-vr-v2\.5\.0\/zeros\.bin: expands more than 200 times \(limit --max-ratio\)/,
  },
];

for (const c of verifierCases) {
  test(`verify-release.mjs, ${c.name}: exit ${c.status} with a clear line`, () => {
    let file = '';
    if (c.file) {
      const [name, make] = c.file;
      file = join(crafted, name);
      if (name.startsWith('spacetime-vr-v')) cpSync(join(release, TOP), file, { recursive: true });
      else writeFileSync(file, make());
    }
    const run = verifier(c.args ? c.args(file) : [file]);
    assert.is(run.status, c.status, run.output);
    assert.match(run.output, c.expected);
    for (const line of run.output.split('\n').filter((l) => l.startsWith('FAIL ')))
      assert.ok(line.length < 2000, 'one short line per failure');
  });
}

test('--json lists the failures for CI', () => {
  const run = verifier([join(crafted, 'duplicate.zip'), '--json']);
  assert.is(run.status, 1);
  const report = JSON.parse(run.stdout);
  assert.is(report.verified, false);
  assert.ok(
    report.failures.some((f: string) => /appears twice/.test(f)),
    run.output,
  );
});

// ---------------------------------------------------------------------------------------------
// The hostile corpus: variants of the genuine package built here (workspace-tests/hostile/), each
// of which the verifier must refuse with exit 1, a FAIL line naming the entry or field, valid
// --json with verified false, and no stack trace.

const STACK_TRACE = /^\s+at |^\w*Error:|internal error/m;
let hostile: HostileCase[] = [];

test('the untouched genuine package verifies with its attestation, and every result names its configuration and signing mode', async () => {
  const fingerprint = (await openpgp.readKey({ armoredKey: readFileSync(join(release, 'release-signing-key.asc'), 'utf8') }))
    .getFingerprint()
    .toUpperCase();
  for (const target of [TOP, `${TOP}.tar.gz`, `${TOP}.zip`]) {
    const run = verifier([join(release, target)]);
    assert.is(run.status, 0, run.output);
    assert.match(run.stdout, /^OK .*configuration development, signing mode development \(a development package: not for release\)/m);
    assert.match(
      run.stdout,
      /the key came from beside the package and is not pinned: a valid signature proves the package is intact, not who signed it/,
    );
    const pinned = verifier([join(release, target), '--fingerprint', fingerprint]);
    assert.is(pinned.status, 0, pinned.output);
    assert.match(pinned.stdout, /^OK .*signed by the key pinned with --fingerprint/m);
    const json = JSON.parse(verifier([join(release, target), '--json']).stdout);
    assert.equal(
      [json.verified, json.configuration, json.signing?.mode, json.key.source],
      [true, 'development', 'development', 'beside the package'],
    );
  }
  // The attestation beside them: signed by the same key, naming the workspace's commit and these bytes.
  const commit = git(ws, 'rev-parse', 'HEAD');
  for (const target of [TOP, `${TOP}.tar.gz`, `${TOP}.zip`]) {
    const strict = verifier([
      join(release, target),
      '--require-provenance',
      '--expect-commit',
      commit,
      '--fingerprint',
      fingerprint,
      '--json',
    ]);
    assert.is(strict.status, 0, strict.output);
    const { provenance } = JSON.parse(strict.stdout);
    assert.equal([provenance.commit, provenance.signedBy, provenance.configuration], [commit, fingerprint, 'development']);
    assert.ok(provenance.subjects.some((s: { name: string; result: string }) => s.name === `${TOP}/SHA256SUMS` && s.result === 'matches'));
  }
  const required = verifier([join(release, TOP), '--require-production']);
  assert.is(required.status, 1, required.output);
  assert.match(required.stdout, /^FAILED .*configuration development, signing mode development/m);
});

test('the hostile corpus is built from the genuine package: at least 100 cases, every class', async () => {
  const devKey = join(keys, 'config', 'spacetime-vr-release', 'development-signing-key.asc');
  hostile = await hostileCorpus({ release, top: TOP }, tempDir('hostile'), { genuinePrivateKey: readFileSync(devKey, 'utf8') });
  const classes = new Set(hostile.map((c) => c.kind));
  assert.ok(hostile.length >= 100, `${hostile.length} cases`);
  assert.equal([...classes].sort(), ['bomb', 'manifest', 'production', 'provenance', 'signature', 'tar', 'zip']);
});

/** Runs the verifier on a case twice, as text and as --json; a description of what is wrong, or undefined. */
async function judge(c: HostileCase): Promise<string | undefined> {
  const started = Date.now();
  const [text, json] = await Promise.all([verifierAsync(c.args), verifierAsync([...c.args, '--json'])]);
  const problems: string[] = [];
  if (text.status !== 1) problems.push(`exit ${text.status}`);
  const fails = text.stdout.split('\n').filter((line) => line.startsWith('FAIL '));
  if (!fails.some((line) => c.expected.test(line))) problems.push(`no FAIL line matches ${c.expected}`);
  if (STACK_TRACE.test(text.output) || STACK_TRACE.test(json.output)) problems.push('a stack trace or internal error');
  try {
    const report = JSON.parse(json.stdout);
    if (report.verified !== false || json.status !== 1) problems.push(`--json: verified ${report.verified}, exit ${json.status}`);
  } catch {
    problems.push('--json is not valid JSON');
  }
  if (Date.now() - started > 30_000) problems.push(`took ${Date.now() - started} ms`);
  return problems.length ? `${c.name}: ${problems.join('; ')}\n    ${text.output.split('\n').slice(0, 4).join('\n    ')}` : undefined;
}

function verifierAsync(args: string[]): Promise<{ status: number | null; stdout: string; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(release, 'verify-release.mjs'), ...args],
      { cwd: ws, timeout: 60_000, maxBuffer: 1 << 26 },
      (error, stdout, stderr) => resolve({ status: child.exitCode ?? (error ? -1 : 0), stdout, output: `${stdout}${stderr}` }),
    );
  });
}

const summary: string[] = [];
for (const kind of ['tar', 'zip', 'bomb', 'manifest', 'signature', 'production', 'provenance']) {
  test(`hostile corpus, ${kind}: each case exits 1 with a FAIL line naming the entry or field, valid --json, no stack trace`, async () => {
    const cases = hostile.filter((c) => c.kind === kind);
    const missed: string[] = [];
    for (let i = 0; i < cases.length; i += 2)
      for (const miss of await Promise.all(cases.slice(i, i + 2).map(judge))) if (miss) missed.push(miss);
    summary.push(`${kind} ${cases.length - missed.length}/${cases.length}`);
    console.log(`  hostile ${kind}: ${cases.length - missed.length}/${cases.length} caught`);
    assert.ok(cases.length > 0, `no ${kind} cases`);
    assert.equal(missed, []);
  });
}

test.after(() => {
  if (summary.length) console.log(`  hostile corpus: ${hostile.length} cases, caught per class: ${summary.join(', ')}`);
  const cases = buildCases.length + unusualNames.length + verifierCases.length + 1;
  console.log(`  corpus: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  cleanUp();
});
test.run();
