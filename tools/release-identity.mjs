// Prints what release:assemble reads from outside its declared files: the git state that
// MANIFEST.json and RELEASE_NOTES.md record, and which signing key signs. Nx hashes this output
// (a runtime input), so a new commit, tag or key rebuilds the package. No secret is printed:
// key material is reduced to a SHA-256.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const git = (...args) => {
  try {
    return execFileSync('git', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return '';
  }
};
const digest = (file) => {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return 'absent';
  }
};
const devKey = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'spacetime-vr-release', 'development-signing-key.asc');

console.log(JSON.stringify({
  commit: git('rev-parse', 'HEAD'),
  branch: git('rev-parse', '--abbrev-ref', 'HEAD'),
  dirty: git('status', '--porcelain') !== '',
  tags: git('tag', '--list', 'v*', '--merged', 'HEAD').split('\n').sort(),
  signingKey: process.env.GPG_KEY_ID ? `gpg:${process.env.GPG_KEY_ID}` : digest(process.env.RELEASE_SIGNING_KEY || devKey),
}));
