import { ManifestFile } from '../../format/manifest';
import { Differ, formatBytes, groupBy, scopedChanges } from '../change';

export const ROOT_SCOPE = '(package root)';

/** Files added, removed or changed (content or mode), per section, from the two MANIFEST.json. */
export const filesDiffer: Differ = {
  id: 'files',
  title: 'Files',
  diff: (before, after) => scopedChanges(groupBy(before.files, sectionOf), groupBy(after.files, sectionOf), describeFile),
};

function sectionOf(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? ROOT_SCOPE : path.slice(0, slash);
}

function describeFile(b: ManifestFile, a: ManifestFile): string[] {
  return [
    ...(b.sha256 !== a.sha256
      ? [b.size === a.size ? `content changed (same size, ${formatBytes(a.size)})` : `size ${formatBytes(b.size)} → ${formatBytes(a.size)}`]
      : []),
    ...(b.mode !== a.mode ? [`mode ${b.mode} → ${a.mode}`] : []),
  ];
}
