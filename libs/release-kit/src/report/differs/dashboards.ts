import { ReleaseError } from '../../support/errors';
import { Differ, keyedChanges } from '../change';
import { ReleasePackage } from '../package-reader';

const DASHBOARD = /^monitoring\/grafana\/dashboards\/.*\.json$/;
const SCOPE = 'monitoring/grafana/dashboards';

/** Grafana dashboards added, removed or retitled, identified by uid (by file when it has none). */
export const dashboardsDiffer: Differ = {
  id: 'dashboards',
  title: 'Grafana dashboards',
  reads: DASHBOARD,
  diff: (before, after) => {
    const [b, a] = [titlesByUid(before), titlesByUid(after)];
    return keyedChanges(SCOPE, b, a, (tb, ta) => (tb === ta ? [] : [`title ${JSON.stringify(tb)} → ${JSON.stringify(ta)}`])).map((c) => ({
      ...c,
      subject: `${c.subject} ${JSON.stringify((c.change === 'removed' ? b : a).get(c.subject))}`,
    }));
  },
};

function titlesByUid(pkg: ReleasePackage): Map<string, string> {
  const titles = new Map<string, string>();
  for (const [path, data] of pkg.contents) {
    if (!DASHBOARD.test(path)) continue;
    let dashboard: { uid?: string; title?: string };
    try {
      dashboard = JSON.parse(data.toString('utf8'));
    } catch (e) {
      throw new ReleaseError(`not JSON: ${(e as Error).message}`, { file: `${pkg.source}: ${path}` });
    }
    titles.set(dashboard.uid ?? path, dashboard.title ?? '(untitled)');
  }
  return titles;
}
