import type { ArtifactMapping, GeneratedFile, Skip, SourceMapping } from '@spacetime/release-kit';

export interface PackageSectionExecutorSchema {
  section?: string;
  sources?: SourceMapping[];
  generate?: GeneratedFile[];
  skipped?: Skip[];
  artifacts?: ArtifactMapping[];
  maxFileBytes?: number;
}
