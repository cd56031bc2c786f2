// PackFile writes the archives: appends, runs of a spare's bytes kept, and cuts, with
// O_DIRECT (whole blocks only) or buffered. Each case is checked against a plain model of the file.
import { openSync, closeSync, constants, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PackFile } from '../src/archive/pack-file';
import { cleanTempDirs, incompressible, tempDir } from './helpers';

type Step = { append: number } | { keep: number } | { cut: number };

/** Runs `steps` on a PackFile over `before` and on a model of the file; returns both contents and the inode before. */
function run(file: string, before: Buffer | undefined, steps: Step[], direct: boolean, seed: number) {
  const ino = before && (writeFileSync(file, before), statSync(file).ino);
  let model = Buffer.from(before ?? Buffer.alloc(0));
  const out = new PackFile(file, { overwrite: true, direct });
  let at = 0;
  for (const step of steps) {
    if ('append' in step) {
      const data = incompressible(step.append, seed++);
      out.append(data);
      model = Buffer.concat([model.subarray(0, at), data, model.subarray(at + data.length)]);
      at += data.length;
    } else if ('keep' in step) {
      out.keep(step.keep);
      at += step.keep;
    } else {
      out.truncate(step.cut);
      model = model.subarray(0, step.cut);
      at = step.cut;
    }
    assert.is(out.length, at);
  }
  out.close();
  return { written: readFileSync(file), expected: model.subarray(0, at), ino };
}

const MiB = 1 << 20;
const cases: Array<[string, number, Step[]]> = [
  ['a new file, small appends', 0, [{ append: 10 }, { append: 4086 }, { append: 1 }, { append: 5000 }]],
  ['a new file, appends larger than the write buffer', 0, [{ append: 3 * MiB + 17 }, { append: 100 }, { append: 5 * MiB }]],
  ['over a longer file, cut short on close', 9 * MiB + 5, [{ append: 4097 }, { append: 70 }]],
  ['over a shorter file', 1000, [{ append: 2 * MiB + 3 }]],
  [
    'keeping runs at odd offsets of a spare',
    3 * MiB + 333,
    [{ append: 100 }, { keep: 5000 }, { append: 7 }, { keep: 32768 }, { append: 40000 }, { keep: 1 }, { append: 1 }],
  ],
  [
    'keeping runs at block boundaries, then a long append past the spare',
    2 * MiB,
    [{ append: 32768 }, { keep: 65536 }, { append: 32768 }, { keep: 4096 }, { append: 4 * MiB }],
  ],
  [
    'a cut back into what was written, then appends',
    0,
    [{ append: 3 * MiB }, { cut: 5000 }, { append: 123 }, { cut: 4096 }, { append: 9 }],
  ],
  ['a kept run to the end of the spare', 100000, [{ append: 4000 }, { keep: 96000 }]],
];

for (const direct of [true, false]) {
  for (const [name, spare, steps] of cases) {
    test(`${direct ? 'direct' : 'buffered'}: ${name}`, () => {
      const file = join(tempDir('pack'), 'archive.bin');
      const { written, expected, ino } = run(file, spare ? incompressible(spare, 99) : undefined, steps, direct, 7);
      assert.is(written.length, expected.length);
      assert.ok(written.equals(expected), 'the file holds the appended bytes and the kept bytes of the spare, nothing else');
      if (ino) assert.is(statSync(file).ino, ino, 'written over, not replaced');
    });
  }
}

for (const direct of [true, false]) {
  test(`${direct ? 'direct' : 'buffered'}: a mirror gets every write of a new file, cuts and the last partial block included`, () => {
    const dir = tempDir('pack');
    const out = new PackFile(join(dir, 'archive.bin'), { overwrite: true, direct, mirror: join(dir, 'spare.bin') });
    const first = incompressible(3 * MiB + 17, 1);
    const second = incompressible(4097, 2);
    out.append(first);
    out.truncate(5000);
    out.append(second);
    out.close();
    const written = readFileSync(join(dir, 'archive.bin'));
    assert.ok(written.equals(Buffer.concat([first.subarray(0, 5000), second])));
    assert.ok(readFileSync(join(dir, 'spare.bin')).equals(written));
  });
}

test('a mirror is refused for a file being written over: it would miss the bytes kept in place', () => {
  const dir = tempDir('pack');
  writeFileSync(join(dir, 'archive.bin'), 'old');
  assert.throws(
    () => new PackFile(join(dir, 'archive.bin'), { overwrite: true, mirror: join(dir, 'spare.bin') }),
    /a mirror is for a new file/,
  );
});

test('the archive is opened O_DIRECT where the file system takes it, and buffered where it does not', () => {
  const dir = tempDir('pack');
  const probe = join(dir, 'probe');
  let supported = true;
  try {
    closeSync(openSync(probe, constants.O_RDWR | constants.O_CREAT | constants.O_DIRECT));
  } catch {
    supported = false;
  }
  const file = join(dir, 'archive.bin');
  const out = new PackFile(file, { direct: true });
  const fd = readdirSync('/proc/self/fd').find((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });
  const flags = parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8);
  assert.is((flags & constants.O_DIRECT) !== 0, supported);
  out.append(Buffer.from('end'));
  out.close();
  assert.is(readFileSync(file, 'utf8'), 'end');
});

test.after(cleanTempDirs);
test.run();
