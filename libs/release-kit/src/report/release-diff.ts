import { Change, Differ } from './change';
import { alertRulesDiffer } from './differs/alert-rules';
import { dashboardsDiffer } from './differs/dashboards';
import { envTemplatesDiffer } from './differs/env-templates';
import { filesDiffer } from './differs/files';
import { imageDiffer, sizesDiffer } from './differs/image';
import { kubernetesDiffer } from './differs/kubernetes';
import { migrationsDiffer } from './differs/migrations';
import { readPackage, ReleasePackage } from './package-reader';

/** Every kind of difference a reviewer looks at, in the order the diff shows them. */
export const DIFFERS: Differ[] = [
  filesDiffer,
  envTemplatesDiffer,
  kubernetesDiffer,
  alertRulesDiffer,
  dashboardsDiffer,
  migrationsDiffer,
  imageDiffer,
  sizesDiffer,
];

export interface PackageSummary {
  version: string;
  source: string;
  git_commit: string;
  build_date: string;
  /** The primary fingerprint of the key that signed it (each package is checked with the key beside it). */
  signed_by: string;
}

export interface ReleaseDiff {
  from: PackageSummary;
  to: PackageSummary;
  /** Whether both packages are signed by the same key: a different key is worth a reviewer's look. */
  same_key: boolean;
  sections: Array<{ id: string; title: string; changes: Change[] }>;
}

/** Reads only what some differ reads. */
export function readForDiff(path: string, source = path): Promise<ReleasePackage> {
  return readPackage(path, (p) => DIFFERS.some((d) => d.reads?.test(p)), source);
}

export function diffPackages(before: ReleasePackage, after: ReleasePackage): ReleaseDiff {
  return {
    from: summary(before),
    to: summary(after),
    same_key: before.signedBy.fingerprint === after.signedBy.fingerprint,
    sections: DIFFERS.map((d) => ({ id: d.id, title: d.title, changes: d.diff(before, after) })),
  };
}

/** Reads both packages (folders or archives) and compares them. */
export async function diffReleases(from: string, to: string, shown: { from?: string; to?: string } = {}): Promise<ReleaseDiff> {
  const before = await readForDiff(from, shown.from ?? from);
  const after = await readForDiff(to, shown.to ?? to);
  return diffPackages(before, after);
}

function summary(pkg: ReleasePackage): PackageSummary {
  const { version, git_commit, build_date } = pkg.manifest;
  return { version, source: pkg.source, git_commit, build_date, signed_by: pkg.signedBy.fingerprint };
}

export function changeCount(diff: ReleaseDiff): number {
  return diff.sections.reduce((n, s) => n + s.changes.length, 0);
}
