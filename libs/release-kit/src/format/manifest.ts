import { SectionFragment, Skip } from './fragment';
import { GitInfo } from '../support/git-info';
import { PACKAGE_NAME } from './layout';

/** How SHA256SUMS.asc was made: the development key, an armored key file (openpgp), or the gpg keyring. */
export type SigningMode = 'development' | 'openpgp' | 'gpg';

/** The user ID of every development signing key: the verifier tells such a key by it. */
export const DEVELOPMENT_KEY_USER = {
  name: 'SpaceTime VR development signing key (not for production)',
  email: 'release-dev@spacetime-vr.invalid',
};

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
  mode: string;
}

export interface Manifest {
  name: string;
  version: string;
  build_date: string;
  git_commit: string;
  git_branch: string;
  git_dirty: boolean;
  build_user: string;
  configuration: 'development' | 'production';
  signing: { mode: SigningMode; fingerprint: string; development: boolean };
  sections: { name: string; files: number; bytes: number; metadata: Record<string, unknown> }[];
  files: ManifestFile[];
  tools: Record<string, string>;
  skipped: Skip[];
}

export interface ManifestInput {
  version: string;
  buildDate: number;
  git: GitInfo | undefined;
  buildUser: string;
  production: boolean;
  signing: { mode: SigningMode; fingerprint: string };
  fragments: SectionFragment[];
  files: ManifestFile[];
  tools: Record<string, string>;
  skipped: Skip[];
}

export function buildManifest(input: ManifestInput): Manifest {
  return {
    name: PACKAGE_NAME,
    version: input.version,
    build_date: new Date(input.buildDate * 1000).toISOString().replace('.000Z', 'Z'),
    git_commit: input.git?.commit ?? 'unknown',
    git_branch: input.git?.branch ?? 'unknown',
    git_dirty: input.git?.dirty ?? false,
    build_user: input.buildUser,
    configuration: input.production ? 'production' : 'development',
    signing: { ...input.signing, development: input.signing.mode === 'development' },
    sections: input.fragments.map((f) => ({
      name: f.section,
      files: f.files.length,
      bytes: f.files.reduce((sum, file) => sum + file.size, 0),
      metadata: f.metadata,
    })),
    files: input.files,
    tools: input.tools,
    skipped: input.skipped,
  };
}

export function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
