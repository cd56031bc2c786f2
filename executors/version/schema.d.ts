import type { VersionBump } from '@spacetime/release-kit/src/versioning/bump';

export interface VersionExecutorSchema {
  bump?: VersionBump;
  preid?: string;
  to?: string;
  title?: string;
  config: string;
  dryRun: boolean;
}
