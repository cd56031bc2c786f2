import type { BumpRequest } from '@spacetime/release-kit/src/versioning/bump';

export interface VersionGeneratorSchema {
  bump?: BumpRequest;
  preid?: string;
  to?: string;
  force?: boolean;
  title: string;
}
