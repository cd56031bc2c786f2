// npm run bench [-- --scale=1]: measures release:assemble against the spec's manual steps and a
// careful shell pipeline on the same synthetic package, in one run, and checks the archives.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pieceStoreDir } from '../../libs/release-kit/src/archive/piece-store';
import { cleanUp, copyWorkspace, git, tempDir } from '../../workspace-tests/workspace';
import { debianSize, writeDebianRelease } from './debian-release';
import { DOCS_DIR, IMAGE_FILE, SERVER_FILE, syntheticSize, writeSyntheticRelease } from './synthetic-release';

const scale = Number(/--scale=([\d.]+)/.exec(process.argv.join(' '))?.[1] ?? '1');
/** The data shapes: `synthetic` (tuned on, the default) and `debian` (real files of this machine). */
const SHAPES: Record<string, (root: string, outputs: string) => string> = {
  synthetic: (root, outputs) => writeSyntheticRelease(root, outputs, syntheticSize(scale)),
  debian: (root, outputs) => writeDebianRelease(root, outputs, debianSize(scale), DOCS_DIR),
};
const shape = /--data=(\S+)/.exec(process.argv.join(' '))?.[1] ?? 'synthetic';
if (!SHAPES[shape]) throw new Error(`--data=${shape}: the shapes are ${Object.keys(SHAPES).join(', ')}`);
const SECTIONS: Record<string, string> = {
  binaries: 'libs/sections/binaries/godot',
  config: 'libs/sections/config/src',
  scripts: 'libs/sections/scripts/src',
  kubernetes: 'libs/sections/kubernetes/src',
  monitoring: 'libs/sections/monitoring/src',
  docs: 'libs/sections/docs/src',
  tests: 'libs/sections/tests/src',
  security: 'libs/sections/security/src',
};

interface Timing {
  seconds: number;
  maxRssKiB: number;
  /** The Nx daemon's, for runs of our build. */
  daemonRssKiB?: number;
}

/**
 * Runs `command` under /usr/bin/time; `prepare` (clearing the last run's outputs, then `sync`, so that
 * no run pays for the last one's writeback) runs first, untimed.
 */
function timed(cwd: string, command: string, env: NodeJS.ProcessEnv = {}, prepare = 'true'): Timing {
  const cleared = spawnSync('bash', ['-c', prepare], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  if (cleared.status !== 0) throw new Error(`${prepare} failed (${cleared.status}):\n${cleared.stderr}`);
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss=%M', 'bash', '-c', `set -euo pipefail; ${command}`], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${command} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { seconds, maxRssKiB: Number(/maxrss=(\d+)/.exec(r.stderr)?.[1] ?? 0) };
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

const ws = copyWorkspace('bench');
const buildOutputs = tempDir('bench-build-outputs');
console.log(`${SHAPES[shape](ws, buildOutputs)} (scale ${scale})`);
const base = tempDir('bench-baseline');
const nxEnv = {
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  NX_DAEMON: 'true',
  NX_CACHE_DIRECTORY: join(ws, '.nx/cache'),
  XDG_CONFIG_HOME: join(base, 'keys'),
};
const clearBaseline = 'rm -rf pkg *.tar.gz *.zip && sync';
const copySources = `mkdir pkg && ${Object.entries(SECTIONS)
  .map(([s, src]) => `cp -r ${join(ws, src)} pkg/${s}`)
  .join(
    ' && ',
  )} && mkdir pkg/binaries/bench && cp ${join(buildOutputs, IMAGE_FILE)} ${join(buildOutputs, SERVER_FILE)} pkg/binaries/bench/`;

const specSteps =
  `${copySources} && (cd pkg && find . -type f ! -name "SHA256SUMS*" -exec sha256sum {} \\; > SHA256SUMS) && ` +
  'tar -czf pkg.tar.gz pkg/ && zip -qr pkg.zip pkg/';
const carefulPipeline =
  `${copySources} && (cd pkg && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum > SHA256SUMS) && ` +
  'tar --sort=name -cf - pkg | pigz > pkg.tar.gz && zip -qr pkg.zip pkg';
// Nx's own command, as a global `nx` runs it: npx puts npm's start-up in front of every command,
// which is measured on its own below, and not part of the build.
const nxCommand = 'node_modules/.bin/nx';
const assemble = `${nxCommand} run release:assemble --output-style=static > /dev/null`;
// Cold: no Nx cache, no daemon, no outputs, no piece store. Clearing them (and flushing the disk) is not part of the build,
// as clearing pkg/ is not part of (a) and (b).
const clearOurs = `${nxCommand} reset > /dev/null && rm -rf dist ${pieceStoreDir(ws, '')} && sync`;
const daemonFile = join(ws, '.nx/workspace-data/d/server-process.json');

/** The /proc folder of the workspace's Nx daemon, if one runs. */
function daemonProc(): string | undefined {
  if (!existsSync(daemonFile)) return undefined;
  const proc = `/proc/${JSON.parse(readFileSync(daemonFile, 'utf8')).processId}`;
  return existsSync(proc) ? proc : undefined;
}

/**
 * Times a build. The Nx daemon is not a child of the timed command, so /usr/bin/time misses it:
 * its peak RSS is reset before the run (clear_refs 5) and read from /proc after it.
 */
function timedBuild(prepare: string): Timing {
  const running = daemonProc();
  if (running) writeFileSync(`${running}/clear_refs`, '5');
  const timing = timed(ws, assemble, nxEnv, prepare);
  const daemon = daemonProc();
  return { ...timing, daemonRssKiB: daemon ? Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`${daemon}/status`, 'utf8'))?.[1] ?? 0) : 0 };
}

const release = join(ws, 'dist/release');
const archives = ['spacetime-vr-v2.5.0.tar.gz', 'spacetime-vr-v2.5.0.zip'].map((f) => join(release, f));

const results: Record<string, Timing> = {};
results.c = timedBuild(clearOurs);
const firstBuild = archives.map(sha);
// Kept to show where two cold builds differ, if they do.
const firstCopies = archives.map((f) => {
  const copy = join(tempDir('bench-first-build'), f.split('/').pop()!);
  spawnSync('cp', [f, copy]);
  return copy;
});
results.a = timed(base, specSteps, {}, clearBaseline);
const baselineSizes = ['pkg.tar.gz', 'pkg.zip'].map((f) => statSync(join(base, f)).size);
results.b = timed(base, carefulPipeline, {}, clearBaseline);
const cold2 = timedBuild(clearOurs);
const rebuildIdentical = archives.map(sha).every((h, i) => h === firstBuild[i]);
const rebuildDifferences = archives.flatMap((f, i) =>
  sha(f) === firstBuild[i] ? [] : [spawnSync('cmp', [firstCopies[i], f], { encoding: 'utf8' }).stdout.trim()],
);
const smallChange = (n: number) =>
  appendFileSync(join(ws, 'libs/sections/config/src/staging/.env.template'), `# benchmark: small change ${n}\n`);
smallChange(1);
results.d = timedBuild('sync');
// The next change finds the outputs that the last one replaced kept as spares, and writes over them.
smallChange(2);
results.d2 = timedBuild('sync');
// One document of the section with thousands of files (docs) changes.
const someDocument = spawnSync('bash', ['-c', `find ${DOCS_DIR} -type f | LC_ALL=C sort | head -n 1`], {
  cwd: ws,
  encoding: 'utf8',
}).stdout.trim();
appendFileSync(join(ws, someDocument), '\nbenchmark: one document changed\n');
results.d3 = timedBuild('sync');
results.e = timedBuild('sync');
const incremental = archives.map(sha);

const checks = [
  ['gzip -t', `gzip -t ${archives[0]}`],
  ['GNU tar', `tar -tzf ${archives[0]} > /dev/null`],
  [
    "Python tarfile 'r|gz'",
    `python3 -c "import sys,tarfile; t=tarfile.open(fileobj=open(sys.argv[1],'rb'), mode='r|gz'); [m for m in t]" ${archives[0]}`,
  ],
  ['unzip -t', `unzip -tq ${archives[1]} > /dev/null`],
  ['Python zipfile', `python3 -c "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None" ${archives[1]}`],
].map(([name, command]) => [name, spawnSync('bash', ['-c', command]).status === 0 ? 'ok' : 'FAILED']);
// The incremental build wrote over the last-but-one archives: it must equal a cold build of the same content.
timed(ws, assemble, nxEnv, clearOurs);
const incrementalIdentical = archives.map(sha).every((h, i) => h === incremental[i]);
const median = (command: string) => Array.from({ length: 5 }, () => timed(ws, command, nxEnv).seconds).sort((x, y) => x - y)[2];
const npxStart = median('npx nx --version > /dev/null') - median(`${nxCommand} --version > /dev/null`);
git(ws, 'checkout', '-q', '--', '.');
spawnSync(nxCommand, ['reset'], { cwd: ws, env: { ...process.env, ...nxEnv } });

const coldSeconds = Math.min(results.c.seconds, cold2.seconds);
const coldBest: Timing = {
  seconds: coldSeconds,
  maxRssKiB: Math.max(results.c.maxRssKiB, cold2.maxRssKiB),
  daemonRssKiB: Math.max(results.c.daemonRssKiB!, cold2.daemonRssKiB!),
};
const rss = (kib: number | undefined) => (kib === undefined ? '' : `${(kib / 1024).toFixed(0)} MiB`);
const row = (label: string, t: Timing) => `| ${label} | ${t.seconds.toFixed(1)} s | ${rss(t.maxRssKiB)} | ${rss(t.daemonRssKiB)} |`;
const ours = archives.map((f) => statSync(f).size);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const npxNote =
  `Each run above starts Nx as \`${nxCommand}\` (what a global \`nx\` runs); ` +
  `through \`npx nx\`, npm's start-up adds ${npxStart.toFixed(2)} s to each (median of 5 \`--version\` runs each way).`;
const identical =
  `two cold builds byte-identical: ${rebuildIdentical ? 'yes' : 'NO'}; ` +
  `incremental build byte-identical to a cold one: ${incrementalIdentical ? 'yes' : 'NO'}`;
console.log(`
| run | wall | peak RSS (largest process) | Nx daemon's peak RSS |
| --- | --- | --- | --- |
${row('a. spec manual steps (cp, find -exec sha256sum, tar -czf, zip -r)', results.a)}
${row('b. careful pipeline (one sha256sum, tar --sort=name | pigz, zip -r)', results.b)}
${row('c. release:assemble, cold (best of 2)', coldBest)}
${row('d. release:assemble after one small change in config (first after a cold build)', results.d)}
${row('d2. release:assemble after a second small change (the last outputs kept as spares)', results.d2)}
${row('d3. release:assemble after one document changed in docs (thousands of files)', results.d3)}
${row('e. release:assemble, no-op rerun', results.e)}

${npxNote}

| ratio | value | target |
| --- | --- | --- |
| a / c (cold speed-up over the spec's steps) | ${(results.a.seconds / coldSeconds).toFixed(2)}x | >= 6x |
| b / c (cold speed-up over the careful pipeline) | ${(results.b.seconds / coldSeconds).toFixed(2)}x | >= 3x |
| d / c (incremental share of cold) | ${((100 * results.d.seconds) / coldSeconds).toFixed(0)}% | <= 20% |
| d2 / c (incremental share of cold, spares in place) | ${((100 * results.d2.seconds) / coldSeconds).toFixed(0)}% | <= 20% |
| d3 / c (one file of the largest section by count) | ${((100 * results.d3.seconds) / coldSeconds).toFixed(0)}% | <= 10% |
| e (no-op) | ${results.e.seconds.toFixed(1)} s | <= 2 s |
| d / c, both through npx | ${((100 * (results.d.seconds + npxStart)) / (coldSeconds + npxStart)).toFixed(0)}% | |

archives: ours ${mib(ours[0])} tar.gz, ${mib(ours[1])} zip; spec's ${mib(baselineSizes[0])} tar.gz, ${mib(baselineSizes[1])} zip
archive checks: ${checks.map(([n, s]) => `${n} ${s}`).join(', ')}; ${identical}${rebuildDifferences.map((d) => `\n${d}`).join('')}`);
cleanUp();
if (!rebuildIdentical || checks.some(([, s]) => s !== 'ok')) process.exitCode = 1;
