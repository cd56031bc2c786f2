import type { BumpRequest } from '@spacetime/release-kit/src/versioning/bump';

export interface VersionExecutorSchema {
  bump?: BumpRequest;
  preid?: string;
  to?: string;
  force: boolean;
  title?: string;
  config: string;
  changelog: string;
  dryRun: boolean;
}
