export interface DockerImageExecutorSchema {
  dockerfile: string;
  builder: 'auto' | 'files' | 'engine';
  platforms: string[];
  contextPath: string;
  outputPath: string;
  baseImage?: string;
  smokeArgs?: string[];
  smokeReady?: string;
  smokeTimeout: number;
  production: boolean;
}
