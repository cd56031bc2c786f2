export interface DiffExecutorSchema {
  from: string;
  outputDir: string;
  json: boolean;
}
