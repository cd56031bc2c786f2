import { join } from 'node:path';
import { ArtifactSet } from '../section/artifact-set';
import type { ExportedPlatform } from './godot-export';
import type { ContextFile } from './oci-image';

/**
 * The image's build context, from what the export target recorded in its artifacts.json: the
 * files it lists. When the server was exported per platform (the main preset at the root, each
 * further one under `<os>/<arch>/`), the context of a platform is the root with that platform's
 * folder laid over it, so that one Dockerfile (`COPY spacetime-server ...`) builds every platform.
 */

/** What the export recorded of the server it made and the smoke it passed. */
export function exportedServer(
  metadata: Record<string, unknown>,
): { artifact: string; smoke: { args: string[]; ready: string } } | undefined {
  const godot = metadata.godot as { artifact?: string; smoke?: { args: string[]; ready: string } } | null | undefined;
  return godot?.artifact && godot.smoke ? { artifact: godot.artifact, smoke: godot.smoke } : undefined;
}

/** The platforms the export made a server for; undefined when its output serves any (a pack). */
export function exportedPlatforms(metadata: Record<string, unknown>): ExportedPlatform[] | undefined {
  const platforms = metadata.platforms as ExportedPlatform[] | undefined;
  return Array.isArray(platforms) ? platforms : undefined;
}

/** The context of `platform`, or why the export has none for it. */
export function platformContext(contextDir: string, set: ArtifactSet, platform: string): ContextFile[] | { missing: string } {
  const all = set.files.map((f) => ({ name: f.path, file: join(contextDir, f.path), mode: f.mode }));
  const platforms = exportedPlatforms(set.metadata);
  if (!platforms) return all;
  const own = platforms.find((p) => p.platform === platform);
  if (!own) {
    const skip = set.skipped.find((s) => s.artifact.startsWith(`${platform}/`));
    return {
      missing: `the export made no ${platform} server (${skip ? skip.reason : `it made ${platforms.map((p) => p.platform).join(', ')}`})`,
    };
  }
  const others = platforms.filter((p) => p.dir && p !== own).map((p) => `${p.dir}/`);
  const view = new Map<string, ContextFile>();
  for (const f of all)
    if (!others.some((dir) => f.name.startsWith(dir)) && !(own.dir && f.name.startsWith(`${own.dir}/`))) view.set(f.name, f);
  if (own.dir)
    for (const f of all)
      if (f.name.startsWith(`${own.dir}/`)) view.set(f.name.slice(own.dir.length + 1), { ...f, name: f.name.slice(own.dir.length + 1) });
  return [...view.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
