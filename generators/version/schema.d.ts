import type { VersionBump } from '@spacetime/release-kit/src/versioning/bump';

export interface VersionGeneratorSchema {
  bump?: VersionBump;
  preid?: string;
  to?: string;
  title: string;
}
