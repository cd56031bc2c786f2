import type { VersionBump } from '@spacetime/release-kit';

export interface VersionExecutorSchema {
  bump?: VersionBump;
  preid?: string;
  to?: string;
  title?: string;
  config?: string;
  dryRun?: boolean;
}
