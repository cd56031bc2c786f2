import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FRAGMENT_FILE, readFragment } from '../../format/fragment';
import { loadReleaseConfig } from '../../format/release-config';
import { sha256 } from '../../support/digest';
import { readGitInfo } from '../../support/git-info';
import { readVersion } from '../../versioning/version-file';
import type { AssembleStep } from '../context';
import { resolveSigner } from '../signing';

/** The version, the release config, every section's fragment, git's facts and the signing key. */
export const readInputs: AssembleStep = {
  name: 'inputs',
  async run(ctx) {
    ctx.version = readVersion(ctx.at('VERSION'));
    ctx.config = loadReleaseConfig(ctx.at(ctx.options.config), ctx.options.config);
    // git runs while the fragments are read. Awaited below; marked handled so that a fragment that
    // fails to read first does not leave a rejected promise behind it.
    const gitInfo = readGitInfo(ctx.options.workspaceRoot, ctx.version);
    gitInfo.catch(() => undefined);
    ctx.sections = ctx.config.sections.map((section) => {
      const outputDir = ctx.at(join(ctx.options.sectionsDir, section));
      return {
        fragment: readFragment(outputDir, section, ctx.version),
        outputDir,
        digest: sha256(readFileSync(join(outputDir, FRAGMENT_FILE))),
      };
    });
    ctx.git = await gitInfo;
    ctx.signer = await resolveSigner(ctx.env);
    ctx.skipped = ctx.sections.flatMap((s) => s.fragment.skipped);
    if (!ctx.git) ctx.skipped.push({ artifact: 'git metadata', reason: 'the workspace is not a git checkout with a commit' });
  },
};
