import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeGodot4StandIn } from '../libs/release-kit/test/godot-stand-in';
import { localBaseImage, requireTool } from './engines';
import { cleanUp, commitAll, copyWorkspace, nx, tempDir } from './workspace';

/**
 * Every archive of a release, read by the readers a recipient may use, lists exactly the package
 * folder: GNU tar, bsdtar, 7-Zip, Python's tarfile in random-access (r:gz) and stream (r|gz) mode
 * and zipfile, unzip, Java's GZIPInputStream and ZipFile, and node-tar. The readers that can read
 * every entry's data do (Python, Java, node-tar, 7-Zip's test). The release holds every kind of
 * piece the writer joins: batched small files, a large compressible file (parallel deflate), an
 * incompressible one (stored blocks: the image tarball, built in the real Docker engine from the
 * Godot 4 stand-in's server) and the root files assemble makes.
 */
let ws = '';
let tarGz = '';
let zip = '';
let expected: string[] = [];
const READERS = join(__dirname, 'readers');
const TOP = 'spacetime-vr-v2.5.0';

test.before(() => {
  for (const [tool, install] of [
    ['tar', 'apt-get install tar'],
    ['bsdtar', 'apt-get install libarchive-tools'],
    ['7z', 'apt-get install p7zip-full'],
    ['unzip', 'apt-get install unzip'],
    ['java', 'apt-get install default-jre-headless'],
    ['javac', 'apt-get install default-jdk-headless'],
    ['docker', 'apt-get install docker.io'],
  ])
    requireTool(tool, install);
  ws = copyWorkspace('readers');
  // About 3 MiB of text: a large file, deflated in parallel 1 MiB chunks.
  const lines = Array.from({ length: 60_000 }, (_, i) => `sample ${i} ${(i * 2654435761) % 4294967296}\n`).join('');
  writeFileSync(join(ws, 'libs/sections/tests/src/performance/large-sample.txt'), lines);
  commitAll(ws, 'a large compressible file');
  const bin = writeGodot4StandIn(tempDir('godot4'));
  const env = { XDG_CONFIG_HOME: tempDir('keys'), PATH: `${bin}:${process.env.PATH}`, BASE_IMAGE: localBaseImage(), GODOT_BIN: '' };
  const run = nx(ws, ['run', 'release:assemble'], env);
  assert.is(run.status, 0, run.output);
  const out = join(ws, 'dist/release');
  tarGz = join(out, `${TOP}.tar.gz`);
  zip = join(out, `${TOP}.zip`);
  expected = [`${TOP}/`, ...walk(join(out, TOP), TOP)].sort();
  assert.ok(expected.includes(`${TOP}/binaries/spacetime-vr-2.5.0.tar.gz`), 'the release holds the image tarball');
  assert.ok(expected.includes(`${TOP}/tests/performance/large-sample.txt`));
});

function walk(dir: string, prefix: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? [`${prefix}/${e.name}/`, ...walk(join(dir, e.name), `${prefix}/${e.name}`)] : [`${prefix}/${e.name}`],
  );
}

/** What `command` prints on stdout, by line (stderr is for warnings, such as Node's about NO_COLOR and FORCE_COLOR). */
function lines(command: string): string[] {
  const run = spawnSync('bash', ['-c', command], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.is(run.status, 0, `${command}\n${run.stdout}${run.stderr}`);
  return run.stdout.split('\n').filter(Boolean);
}

/** 7-Zip's technical listing (-slt): the entries follow the "----------" line; a folder has "Folder = +". */
function sevenZipNames(output: string[]): string[] {
  const entries = output
    .slice(output.indexOf('----------') + 1)
    .join('\n')
    .split(/\n(?=Path = )/);
  return entries.filter((e) => e.startsWith('Path = ')).map((e) => e.split('\n')[0].slice(7) + (/^Folder = \+$/m.test(e) ? '/' : ''));
}

const javaClasses = () => {
  const dir = tempDir('java');
  lines(`javac -d ${dir} ${join(READERS, 'ListArchive.java')}`);
  return dir;
};
let classes = '';

const readers: Array<[string, () => string[]]> = [
  ['GNU tar (.tar.gz)', () => lines(`tar -tzf ${tarGz}`)],
  ['bsdtar (.tar.gz)', () => lines(`bsdtar -tf ${tarGz}`)],
  ['bsdtar (.zip)', () => lines(`bsdtar -tf ${zip}`)],
  ['7-Zip (.tar.gz)', () => (lines(`7z t ${tarGz}`), sevenZipNames(lines(`7z x -so ${tarGz} | 7z l -si -ttar -slt`)))],
  ['7-Zip (.zip)', () => (lines(`7z t ${zip}`), sevenZipNames(lines(`7z l -slt ${zip}`)))],
  ["Python tarfile 'r:gz'", () => lines(`python3 ${join(READERS, 'list-archive.py')} r:gz ${tarGz}`)],
  ["Python tarfile 'r|gz' (a pipe or an HTTP response)", () => lines(`python3 ${join(READERS, 'list-archive.py')} 'r|gz' ${tarGz}`)],
  ['Python zipfile', () => lines(`python3 ${join(READERS, 'list-archive.py')} zip ${zip}`)],
  ['unzip (.zip)', () => (lines(`unzip -tq ${zip}`), lines(`unzip -Z1 ${zip}`))],
  ['Java GZIPInputStream (.tar.gz)', () => lines(`java -cp ${(classes ||= javaClasses())} ListArchive ${tarGz}`)],
  ['Java ZipFile (.zip)', () => lines(`java -cp ${(classes ||= javaClasses())} ListArchive ${zip}`)],
  ['node-tar (.tar.gz)', () => lines(`node ${join(READERS, 'list-archive.mjs')} ${tarGz}`)],
];
for (const [reader, list] of readers) {
  test(`${reader} lists exactly the package's files and folders`, () => {
    assert.equal(list().sort(), expected);
  });
}

test('the .tar.gz is one gzip member: gzip -l sees one, and its size field is the whole tar', () => {
  const tarSize = Number(lines(`gzip -dc ${tarGz} | wc -c`)[0]);
  const listed = lines(`gzip -lv ${tarGz}`);
  assert.is(listed.length, 2, listed.join('\n'));
  assert.is(Number(listed[1].trim().split(/\s+/)[6]), tarSize);
});

test.after(cleanUp);
test.run();
