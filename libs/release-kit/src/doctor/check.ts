import type { ExportMode } from '../build/godot';
import type { ImageBuilder } from '../build/image-build';

/** What `release:doctor` judges for: a development build skips what it cannot make, a production build stops. */
export type DoctorMode = 'development' | 'production';

export type CheckStatus = 'ok' | 'warning' | 'error';

export type CheckArea = 'Engine' | 'Docker' | 'Signing' | 'Source' | 'Publishing' | 'Tools';

/** Which command a check is for: the build (export, image, assemble) or release:publish. */
export type CheckStage = 'build' | 'publish';

/** One finding of the doctor. `found` and `fix` never hold a secret (a key, a passphrase, a password). */
export interface Check {
  area: CheckArea;
  name: string;
  status: CheckStatus;
  found: string;
  /** How to fix it: set for every warning and error. */
  fix?: string;
  stage: CheckStage;
}

/** A `godot-export` target of the Nx project graph, with its options resolved. */
export interface GodotExportTarget {
  /** `project:target`, for messages. */
  target: string;
  /** Absolute folder of project.godot. */
  projectDir: string;
  preset: string;
  /** The presets of the server's other platforms (the target's platformPresets option). */
  platformPresets: string[];
  mode: ExportMode;
  /** Workspace-relative output folder: an image target's context when it builds on this export. */
  outputPath: string;
  godot?: string;
}

/** A `docker-image` target of the Nx project graph, with its options resolved. */
export interface DockerImageTarget {
  target: string;
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  /** Workspace-relative folder of the export it packs. */
  contextPath: string;
  /** The target's `baseImage` option. */
  baseImage?: string;
  /** The target's `builder` option: which path builds the image decides how its base is had. */
  builder: ImageBuilder;
  /** The target's `platforms` option: the platforms the daemonless build takes from the base. */
  platforms: string[];
}

/** The `publish` target's own options; the environment fills in the rest, as publish does. */
export interface PublishSettings {
  artifactRepo?: string;
  registry?: string;
}

export interface DoctorInput {
  mode: DoctorMode;
  workspaceRoot: string;
  version: string;
  exports: GodotExportTarget[];
  images: DockerImageTarget[];
  publish: PublishSettings;
  env: NodeJS.ProcessEnv;
}

/** The status of what a development build skips and a production build refuses. */
export function skipOrStop(mode: DoctorMode): CheckStatus {
  return mode === 'production' ? 'error' : 'warning';
}

/** The message of an error without the hint a ReleaseError appends (the doctor shows it as the fix). */
export function messageOf(error: unknown): string {
  return (error as Error).message.split('\n  hint: ')[0];
}
