export interface DockerImageExecutorSchema {
  dockerfile: string;
  contextPath: string;
  outputPath: string;
  baseImage?: string;
  smokeArgs?: string[];
  smokeReady?: string;
  smokeTimeout: number;
  production: boolean;
}
