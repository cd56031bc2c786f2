export interface DockerImageExecutorSchema {
  dockerfile: string;
  contextPath: string;
  outputPath: string;
  baseImage?: string;
  production: boolean;
}
