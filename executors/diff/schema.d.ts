export interface DiffExecutorSchema {
  from: string;
  artifactRepo?: string;
  outputDir: string;
  json: boolean;
}
