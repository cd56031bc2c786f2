// Holds an output folder's assemble lock in its own process, as a running assembly does, until a line
// (or the end) arrives on stdin: the folder in argv[2]. Prints "locked" once it holds the lock.
import { withOutputLock } from '../src/support/output-lock';

withOutputLock(
  process.argv[2],
  process.argv[2],
  () => undefined,
  async () => {
    console.log('locked');
    await new Promise<void>((resolve) => {
      process.stdin.once('data', () => resolve());
      process.stdin.once('end', () => resolve());
    });
  },
).then(() => process.exit(0));
