export interface ReportExecutorSchema {
  from?: string;
  config: string;
  outputDir: string;
  validationDir: string;
  profile: string;
}
