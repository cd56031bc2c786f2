import type { Skip } from '@spacetime/release-kit/src/format/fragment';
import type { ArtifactMapping } from '@spacetime/release-kit/src/section/artifact-set';
import type { GeneratedFile } from '@spacetime/release-kit/src/section/generated-files';
import type { SourceMapping } from '@spacetime/release-kit/src/section/sources';

export interface PackageSectionExecutorSchema {
  section?: string;
  sources: SourceMapping[];
  generate: GeneratedFile[];
  skipped: Skip[];
  artifacts: ArtifactMapping[];
  maxFileBytes: number;
}
