// An assembly killed between the renames of its swap (new archives in place, the old folder still
// there) leaves a journal; every reader of dist/release under the lock finishes the swap first, so
// it finds the outputs of one assembly, never a mixture.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SWAP_JOURNAL } from '../libs/release-kit/src/support/swap-journal';
import { cleanUp, copyWorkspace, nx, tempDir } from './workspace';

const TOP = 'spacetime-vr-v2.5.0';
let ws = '';
let release = '';
let env: NodeJS.ProcessEnv = {};

test.before(() => {
  ws = copyWorkspace('swap-crash');
  release = join(ws, 'dist/release');
  // The attestation's builder is then local:<BUILD_USER>, also when the tests run under CI.
  env = { XDG_CONFIG_HOME: tempDir('signing-keys'), GITHUB_ACTIONS: '', GITLAB_CI: '' };
  const run = nx(ws, ['run', 'release:assemble'], { ...env, BUILD_USER: 'first' });
  assert.is(run.status, 0, run.output);
});

test.after(cleanUp);

/** Runs the assemble engine with BUILD_USER=`user`, killed right after the rename onto `killAfter`, if given. */
function assemble(user: string, killAfter?: string) {
  const preload = killAfter ? ['-r', join(__dirname, 'kill-after-rename.js')] : [];
  return spawnSync(process.execPath, [...preload, '-r', '@swc-node/register', join(__dirname, 'assemble-engine.ts'), ws], {
    env: { ...process.env, ...env, BUILD_USER: user, KILL_AFTER_RENAME_TO: killAfter },
    encoding: 'utf8',
  });
}

const folderUser = () => JSON.parse(readFileSync(join(release, TOP, 'MANIFEST.json'), 'utf8')).build_user as string;
/** The build_user the .tar.gz's MANIFEST.json holds. */
function archiveUser(): string {
  const tar = spawnSync('tar', ['-xzOf', join(release, `${TOP}.tar.gz`), `${TOP}/MANIFEST.json`], { encoding: 'utf8' });
  return JSON.parse(tar.stdout).build_user;
}

/** The builder the attestation beside the archives names: `local:<build user>`. */
function attestedBuilder(): string {
  const envelope = JSON.parse(readFileSync(join(release, `${TOP}.intoto.jsonl`), 'utf8'));
  return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')).predicate.runDetails.builder.id;
}

/** Kills an assembly by `user` between its swap's renames and checks the in-between state it leaves. */
function killMidSwap(user: string, before: string): void {
  const killed = assemble(user, `/dist/release/${TOP}.zip`);
  assert.is(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
  assert.ok(existsSync(join(release, SWAP_JOURNAL)), 'the swap journal is left behind');
  assert.is(archiveUser(), user, 'the new archives are in place');
  assert.is(folderUser(), before, 'the old folder is still in place: a mixture on disk');
  assert.is(attestedBuilder(), `local:${before}`, 'the old attestation too');
}

test('release:verify finishes a swap an assembly left half done, and verifies one whole package', () => {
  killMidSwap('second', 'first');
  const verify = nx(ws, ['run', 'release:verify'], env);
  assert.is(verify.status, 0, verify.output);
  assert.match(verify.output, /finished the swap of outputs that an interrupted run left/);
  assert.not.ok(existsSync(join(release, SWAP_JOURNAL)));
  assert.is(folderUser(), 'second');
  assert.is(archiveUser(), 'second');
  assert.is(attestedBuilder(), 'local:second', 'the journal moves the attestation into place with the rest');
  assert.equal(
    readdirSync(release).filter((n) => n.startsWith('.partial-')),
    [],
    'no partial file is left',
  );
});

test('the next assembly finishes the swap, then builds on a whole package', () => {
  killMidSwap('third', 'second');
  const next = assemble('fourth');
  assert.is(next.status, 0, next.stdout + next.stderr);
  assert.match(next.stdout, /finished the swap of outputs that an interrupted run left/);
  assert.is(folderUser(), 'fourth');
  assert.is(archiveUser(), 'fourth');
  const verify = nx(ws, ['run', 'release:verify'], env);
  assert.is(verify.status, 0, verify.output);
});

test.run();
