import type { GeneratedFile, Skip, SourceMapping } from '@spacetime/release-kit';

export interface PackageSectionExecutorSchema {
  section?: string;
  sources?: SourceMapping[];
  generate?: GeneratedFile[];
  skipped?: Skip[];
}
