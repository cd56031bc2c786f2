export interface GodotExportExecutorSchema {
  project: string;
  preset: string;
  platformPresets: string[];
  mode: 'release' | 'debug' | 'pack';
  name: string;
  outputPath: string;
  godot?: string;
  timeout: number;
  smokeArgs: string[];
  smokeReady: string;
  smokeTimeout: number;
  production: boolean;
}
