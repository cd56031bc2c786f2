import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanUp, copyWorkspace, git, nx, tempDir } from './workspace';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

test('two clones of one commit at different paths, with different TZ and umask, give byte-identical archives and attestations', () => {
  const origin = copyWorkspace('origin');
  const keys = { XDG_CONFIG_HOME: tempDir('shared-signing-key') };
  const clones = [join(tempDir('clone-a'), 'a'), join(tempDir('clone-b-with-a-much-longer-path'), 'nested', 'b')];
  for (const clone of clones) {
    git(origin, 'clone', '-q', origin, clone);
    git(clone, 'config', 'core.sharedRepository', 'false');
  }
  const setups = [
    { env: { ...keys, TZ: 'UTC' }, prefix: 'umask 022; ' },
    { env: { ...keys, TZ: 'Asia/Kolkata', LANG: 'C' }, prefix: 'umask 077; ' },
  ];
  const digests = clones.map((clone, i) => {
    const run = nx(
      clone,
      ['run', 'release:assemble', '--skip-nx-cache'],
      setups[i].env,
      `ln -s ${origin}/node_modules node_modules; ${setups[i].prefix}`,
    );
    assert.is(run.status, 0, run.output);
    const out = join(clone, 'dist/release');
    return ['spacetime-vr-v2.5.0.tar.gz', 'spacetime-vr-v2.5.0.zip', 'spacetime-vr-v2.5.0.intoto.jsonl', 'release-signing-key.asc'].map(
      (f) => `${f} ${sha(join(out, f))}`,
    );
  });
  console.log(digests[0].join('\n'));
  assert.equal(digests[0], digests[1]);
});

test.after(cleanUp);
test.run();
