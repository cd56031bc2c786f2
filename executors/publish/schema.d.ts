export interface PublishExecutorSchema {
  config: string;
  outputDir: string;
  artifactRepo?: string;
  registry?: string;
  force: boolean;
  acl?: 'public-read';
  partSize: number;
  production: boolean;
  snapshot: boolean;
}
