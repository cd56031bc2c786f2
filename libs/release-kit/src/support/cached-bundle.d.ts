import type { BuildResult } from 'esbuild';

/** What decides a bundle's bytes besides its inputs: esbuild's version and the file that holds the build options. */
export function bundleKey(optionsFile: string): string;
/** Where `name` is cached for the workspace at `workspace` (bundles of two workspaces never mix). */
export function bundlePath(workspace: string, name: string): string;
/** The cached bundle, when it was made with `key` from files that are all unchanged; else undefined. */
export function freshBundle(workspace: string, file: string, key: string): string | undefined;
/** Stores the output of an esbuild build made with `metafile: true, write: false` and returns its path. */
export function storeBundle(workspace: string, file: string, key: string, result: BuildResult): string;
