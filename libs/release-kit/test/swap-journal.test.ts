import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spareFor } from '../src/support/move-into-place';
import { finishInterruptedSwap, SWAP_JOURNAL, swapTogether } from '../src/support/swap-journal';
import { cleanTempDirs, tempDir } from './helpers';

test.after(cleanTempDirs);

/** A pid that no process has any more. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

function outputs(dir: string, generation: string) {
  writeFileSync(join(dir, `archive-${generation}`), generation);
  mkdirSync(join(dir, `folder-${generation}`));
  writeFileSync(join(dir, `folder-${generation}`, 'file'), generation);
}

test('swapTogether makes every rename and leaves no journal; what it replaced becomes the spare', () => {
  const dir = tempDir('swap');
  outputs(dir, 'old');
  outputs(dir, 'new');
  swapTogether(dir, [{ op: 'swap', from: join(dir, 'archive-new'), to: join(dir, 'archive-old') }]);
  assert.is(readFileSync(join(dir, 'archive-old'), 'utf8'), 'new');
  assert.is(readFileSync(spareFor(join(dir, 'archive-old')), 'utf8'), 'old');
  assert.not.ok(existsSync(join(dir, SWAP_JOURNAL)));
});

test('a journal of a dead process is rolled forward: the renames left are made, the ones made are not made again', () => {
  const dir = tempDir('swap');
  outputs(dir, 'old');
  outputs(dir, 'new');
  const archive = join(dir, 'archive');
  writeFileSync(archive, 'new');
  const renames = [
    { op: 'swap' as const, from: join(dir, 'archive-gone'), to: archive },
    { op: 'swap' as const, from: join(dir, 'folder-new'), to: join(dir, 'folder-old') },
  ];
  writeFileSync(join(dir, SWAP_JOURNAL), JSON.stringify({ pid: deadPid(), renames }));
  assert.ok(finishInterruptedSwap(dir));
  assert.is(readFileSync(archive, 'utf8'), 'new', 'a rename already made is left as it is');
  assert.is(readFileSync(join(dir, 'folder-old', 'file'), 'utf8'), 'new');
  assert.is(readFileSync(join(spareFor(join(dir, 'folder-old')), 'file'), 'utf8'), 'old');
  assert.not.ok(existsSync(join(dir, SWAP_JOURNAL)));
});

test("a live process's journal is left alone, and a journal that does not parse is removed", () => {
  const dir = tempDir('swap');
  outputs(dir, 'new');
  const journal = join(dir, SWAP_JOURNAL);
  writeFileSync(
    journal,
    JSON.stringify({ pid: process.ppid, renames: [{ op: 'rename', from: join(dir, 'archive-new'), to: join(dir, 'x') }] }),
  );
  assert.not.ok(finishInterruptedSwap(dir));
  assert.ok(existsSync(join(dir, 'archive-new')) && existsSync(journal));
  writeFileSync(journal, '{"pid": 1, "renam');
  assert.not.ok(finishInterruptedSwap(dir));
  assert.not.ok(existsSync(journal));
  assert.ok(existsSync(join(dir, 'archive-new')));
});

test.run();
