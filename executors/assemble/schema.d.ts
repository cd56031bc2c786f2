export interface AssembleExecutorSchema {
  config: string;
  sectionsDir: string;
  outputDir: string;
  validationDir: string;
  production: boolean;
}
