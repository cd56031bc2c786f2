import { writeFileSync } from 'node:fs';
import { FILE_MODE } from '../../format/determinism';
import type { AssembleStep } from '../context';

/** The files a recipient needs beside the archives: the public key and the standalone verifier. */
export const besideFiles: AssembleStep = {
  name: 'public key and verifier',
  run(ctx) {
    writeFileSync(ctx.partial.publicKey, ctx.signer.publicKey, { mode: FILE_MODE });
    writeFileSync(ctx.partial.verifier, ctx.verifier, { mode: FILE_MODE });
  },
};
