// Lists a .tar.gz with node-tar (the `tar` package), one name per line, reading every entry's data.
// Directories end in "/". Used by workspace-tests/readers.test.ts.
import { list } from 'tar';

await list({
  file: process.argv[2],
  strict: true,
  onReadEntry: (entry) => {
    entry.resume();
    console.log(entry.type === 'Directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path);
  },
});
