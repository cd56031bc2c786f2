import type { VersionBump } from '@spacetime/release-kit';

export interface VersionGeneratorSchema {
  bump?: VersionBump;
  preid?: string;
  to?: string;
  title: string;
}
