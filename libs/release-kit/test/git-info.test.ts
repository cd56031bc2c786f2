import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readGitInfo, withoutCredentials } from '../src/support/git-info';
import { cleanTempDirs, tempDir, tool } from './helpers';

const git = (repo: string, ...args: string[]) => tool('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], repo);

function commit(repo: string, file: string, subject: string): string {
  writeFileSync(join(repo, file), subject);
  git(repo, 'add', file);
  git(repo, 'commit', '-q', '-m', subject);
  return git(repo, 'rev-parse', 'HEAD').trim();
}

function repository(): string {
  const repo = tempDir('git-info');
  git(repo, 'init', '-q', '-b', 'release/2.5');
  return repo;
}

test('outside a git checkout, and in one without a commit, there is no git metadata', async () => {
  assert.is(await readGitInfo(tempDir('not-git'), '2.5.0'), undefined);
  assert.is(await readGitInfo(repository(), '2.5.0'), undefined);
});

test('reads the commit, its time, the branch, the previous tag and the commits since it, newest first', async () => {
  const repo = repository();
  commit(repo, 'a', 'first');
  git(repo, 'tag', 'v2.4.0');
  commit(repo, 'b', 'second');
  const head = commit(repo, 'c', 'third');
  const info = await readGitInfo(repo, '2.5.0');
  assert.ok(info);
  assert.is(info.commit, head);
  assert.is(info.commitTime, Number(git(repo, 'log', '-1', '--format=%ct').trim()));
  assert.is(info.branch, 'release/2.5');
  assert.is(info.dirty, false);
  assert.is(info.previousTag, 'v2.4.0');
  assert.equal(
    info.commitsSincePreviousTag.map((line) => line.split(' ').slice(1).join(' ')),
    ['third', 'second'],
  );
  assert.ok(head.startsWith(info.commitsSincePreviousTag[0].split(' ')[0]), info.commitsSincePreviousTag[0]);
});

test("the release's own tag is not its previous tag; without another, every commit is listed", async () => {
  const repo = repository();
  commit(repo, 'a', 'first');
  commit(repo, 'b', 'second');
  git(repo, 'tag', 'v2.5.0');
  const info = await readGitInfo(repo, '2.5.0');
  assert.is(info?.previousTag, undefined);
  assert.is(info?.commitsSincePreviousTag.length, 2);
});

test('an untracked or modified file makes the tree dirty; a detached HEAD is reported as HEAD', async () => {
  const repo = repository();
  const first = commit(repo, 'a', 'first');
  commit(repo, 'b', 'second');
  writeFileSync(join(repo, 'untracked'), 'x');
  assert.is((await readGitInfo(repo, '2.5.0'))?.dirty, true);
  rmSync(join(repo, 'untracked'));
  assert.is((await readGitInfo(repo, '2.5.0'))?.dirty, false);
  writeFileSync(join(repo, 'a'), 'modified');
  assert.is((await readGitInfo(repo, '2.5.0'))?.dirty, true);
  git(repo, 'checkout', '-q', '--', 'a');
  git(repo, 'checkout', '-q', first);
  const detached = await readGitInfo(repo, '2.5.0');
  assert.is(detached?.branch, 'HEAD');
  assert.is(detached?.commit, first);
});

test("the origin remote's URL is read without its credentials; a local path is left out", async () => {
  const repo = repository();
  commit(repo, 'a', 'first');
  assert.is((await readGitInfo(repo, '2.5.0'))?.remoteUrl, undefined, 'no remote');
  git(repo, 'remote', 'add', 'origin', 'https://gitlab-ci-token:glcbt-s3cr3t@gitlab.example.com/studio/game.git');
  assert.is((await readGitInfo(repo, '2.5.0'))?.remoteUrl, 'https://gitlab.example.com/studio/game.git');
  const cases: Array<[string, string | undefined]> = [
    ['https://x-access-token:ghs_abc@github.com/studio/game?ref=1#top', 'https://github.com/studio/game'],
    ['git@github.com:studio/game.git', 'ssh://github.com/studio/game.git'],
    ['ssh://deploy@git.example.com:2222/studio/game.git', 'ssh://git.example.com:2222/studio/game.git'],
    ['/srv/git/game.git', undefined],
    ['../game', undefined],
    ['file:///home/alice/game', undefined],
  ];
  for (const [url, published] of cases) assert.is(withoutCredentials(url), published, url);
});

test.after(cleanTempDirs);
test.run();
