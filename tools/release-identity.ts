// Prints what release:assemble reads from outside its declared files: the git state that
// MANIFEST.json and RELEASE_NOTES.md record, and which key signs. Nx hashes this output (a
// runtime input of release:assemble), so a new commit, tag or key rebuilds the package.
// Nothing secret is printed.
import { execFileSync } from 'node:child_process';
import { signingIdentity } from '../libs/release-kit/src/signing';

const git = (...args: string[]) => {
  try {
    return execFileSync('git', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return '';
  }
};

signingIdentity(process.env).then((signingKey) => {
  console.log(
    JSON.stringify({
      commit: git('rev-parse', 'HEAD'),
      branch: git('rev-parse', '--abbrev-ref', 'HEAD'),
      dirty: git('status', '--porcelain') !== '',
      tags: git('tag', '--list', 'v*', '--merged', 'HEAD').split('\n').sort(),
      signingKey,
    }),
  );
});
