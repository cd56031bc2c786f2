// Runs every test suite with uvu and ends with the line `N passed, N failed`.
// Suites: the engine's unit tests (libs/release-kit/test) and the end-to-end workspace tests.
import { spawn } from 'node:child_process';

const suites = [
  { name: 'release-kit unit tests', dir: 'libs/release-kit/test' },
  { name: 'generator unit tests', dir: 'generators/test' },
  { name: 'workspace tests', dir: 'workspace-tests' },
];
const only = process.argv[2];

let passed = 0;
let failed = 0;
for (const suite of suites) {
  if (only && !suite.dir.includes(only)) continue;
  console.log(`\n== ${suite.name} (${suite.dir})`);
  const { code, output } = await run('npx', ['uvu', '-r', '@swc-node/register', suite.dir, '\\.test\\.ts$']);
  const total = count(output, 'Total');
  const ok = count(output, 'Passed');
  if (total === undefined || ok === undefined) {
    console.log(`${suite.name}: uvu ended (exit ${code}) without a summary: counted as one failure`);
    failed += 1;
    continue;
  }
  passed += ok;
  failed += total - ok - (count(output, 'Skipped') ?? 0);
  if (code !== 0 && total === ok) failed += 1;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;

function run(command, args) {
  return new Promise((resolve) => {
    const env = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        output += chunk;
        process.stdout.write(chunk);
      });
    }
    child.on('close', (code) => resolve({ code, output }));
  });
}

function count(output, label) {
  const match = new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(output);
  return match ? Number(match[1]) : undefined;
}
