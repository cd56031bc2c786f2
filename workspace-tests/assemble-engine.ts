// The assemble engine in a process of its own, called as the executor calls it: the crash and
// lock tests kill it or run two at once. Usage: node -r @swc-node/register assemble-engine.ts <workspace>
import { assembleRelease } from '../libs/release-kit/src/assemble/assemble';

console.log('engine started');
assembleRelease({
  workspaceRoot: process.argv[2],
  config: 'libs/release/release.config.json',
  sectionsDir: 'dist/sections',
  outputDir: 'dist/release',
  validationDir: 'dist/validation',
  production: false,
  log: (line) => console.log(line),
}).then(
  (result) => console.log(`engine done${result.upToDate ? ' (up to date)' : ''}`),
  (error) => {
    console.error(`ERROR ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
