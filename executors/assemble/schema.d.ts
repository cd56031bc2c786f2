export interface AssembleExecutorSchema {
  config?: string;
  sectionsDir?: string;
  outputDir?: string;
  production?: boolean;
}
