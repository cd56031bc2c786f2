export interface VerifyExecutorSchema {
  config: string;
  outputDir: string;
  key?: string;
  fingerprint?: string;
}
