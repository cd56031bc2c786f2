import { Differ, keyedChanges } from '../change';
import { ReleasePackage } from '../package-reader';

const MIGRATION = /^scripts\/migration\/sql\/[^/]+\.sql$/;

/** SQL migrations new in this package (and any that disappeared, which a reviewer must question). */
export const migrationsDiffer: Differ = {
  id: 'migrations',
  title: 'SQL migrations',
  diff: (before, after) => keyedChanges('scripts/migration/sql', migrations(before), migrations(after)),
};

function migrations(pkg: ReleasePackage): Map<string, true> {
  return new Map([...pkg.files.keys()].filter((p) => MIGRATION.test(p)).map((p) => [p.slice(p.lastIndexOf('/') + 1), true]));
}
