import { join } from 'node:path';
import type { ArchiveLayout, DeflatedRootFile, PackagedSection, RootFile } from '../archive/archive-writer';
import type { ReleaseConfig } from '../format/release-config';
import type { Skip } from '../format/fragment';
import type { Manifest } from '../format/manifest';
import type { GitInfo } from '../support/git-info';
import type { FolderScan, PlacedFolder } from './package-folder';
import type { Signer } from './signing';
import type { AssembleState } from './state';

export interface AssembleOptions {
  workspaceRoot: string;
  /** Workspace-relative path of the release config. */
  config: string;
  /** Workspace-relative folder holding each section's package output. */
  sectionsDir: string;
  /** Workspace-relative folder the release is written to. */
  outputDir: string;
  /** Workspace-relative folder of the validation reports (`<section>/` and `release-gate/<section>/`). */
  validationDir: string;
  production: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Log how long each step took (`nx ... --verbose`). */
  stepTimes?: boolean;
  /** When certificate expiry is judged (tests); otherwise the time of the run. */
  now?: Date;
  /** The Nx target run, as the provenance attestation records it; by default `release:assemble:<configuration>`. */
  target?: string;
}

export interface AssembleResult {
  version: string;
  packageDir: string;
  tarGz: string;
  zip: string;
  publicKey: string;
  manifest: Manifest;
  verifier: string;
  attestation: string;
  /** True when the outputs were already those of this assembly and nothing was written. */
  upToDate: boolean;
}

/** The outputs beside each other in the output folder. */
export interface OutputPaths {
  packageDir: string;
  tarGz: string;
  zip: string;
  publicKey: string;
  verifier: string;
  attestation: string;
}

/** Outputs whose previous version is kept beside them and updated in place by the next assembly. */
export const SPARED = ['packageDir', 'tarGz', 'zip'] as const;
export type SparedOutput = (typeof SPARED)[number];

/** A file SHA256SUMS lists, as MANIFEST.json records it. */
export interface ListedFile {
  path: string;
  size: number;
  sha256: string;
  mode: number;
}

/**
 * What the assembly's steps share. Each step fills in what it makes; a step reads only what the
 * steps before it (in assemble.ts) made.
 */
export class AssembleContext {
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
  readonly now: Date;
  /** Undo actions of the writing steps, run newest first when a later step fails. */
  private readonly undo: Array<() => Promise<void> | void> = [];

  // inputs
  version!: string;
  config!: ReleaseConfig;
  sections!: PackagedSection[];
  git!: GitInfo | undefined;
  signer!: Signer;
  skipped!: Skip[];
  // documents
  documents!: RootFile[];
  // output plan
  outputDir!: string;
  top!: string;
  final!: OutputPaths;
  verifier!: Buffer;
  mtime!: number;
  buildDate!: number;
  buildUser!: string;
  builderId!: string;
  target!: string;
  npmLock!: string;
  /** SHA-256 of everything the outputs are made of. */
  key!: string;
  // writing, under the output lock
  stagingDir!: string;
  previous!: AssembleState | undefined;
  spareScan!: { scanned: Promise<FolderScan>; abort(): Promise<void> };
  rootFiles!: RootFile[];
  listed!: ListedFile[];
  manifest!: Manifest;
  partial!: OutputPaths;
  /** Outputs with no previous version to update in place: a copy is made beside them to become the spare. */
  mirrors: Partial<Record<SparedOutput, string>> = {};
  deflatedRootFiles!: Promise<DeflatedRootFile[]>;
  folder!: PlacedFolder;
  layouts: Record<string, ArchiveLayout> = {};
  /** Each archive's SHA-256 by file name, hashed on a worker from the moment it is written. */
  archiveDigests: Record<string, Promise<string>> = {};
  /** Set by a step that finds the outputs already made: the steps after it do not run. */
  upToDate = false;

  constructor(readonly options: AssembleOptions) {
    this.env = options.env ?? process.env;
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? new Date();
  }

  /** A workspace-relative path made absolute. */
  at(path: string): string {
    return join(this.options.workspaceRoot, path);
  }

  /** Registers what undoes a step's partial work if a later step fails. */
  onFailure(action: () => Promise<void> | void): void {
    this.undo.push(action);
  }

  /** The outputs are in place: nothing is undone from here on. */
  committed(): void {
    this.undo.length = 0;
  }

  async rollBack(): Promise<void> {
    for (const action of this.undo.splice(0).reverse()) await action();
  }

  result(): AssembleResult {
    return { version: this.version, ...this.final, manifest: this.manifest, upToDate: this.upToDate };
  }
}

/** One step of the assembly: it does one job over the shared context. */
export interface AssembleStep {
  name: string;
  run(ctx: AssembleContext): Promise<void> | void;
}
