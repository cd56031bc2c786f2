// A publish in its own process, so that a test can SIGKILL it mid-upload: options as JSON in argv[2].
import { publishRelease, PublishOptions } from '../src/publish/publish';

const options = JSON.parse(process.argv[2]) as PublishOptions;
publishRelease({ ...options, log: (line) => console.log(line), warn: (line) => console.warn(line) }).catch((e) => {
  console.error(`ERROR ${(e as Error).message}`);
  process.exit(1);
});
