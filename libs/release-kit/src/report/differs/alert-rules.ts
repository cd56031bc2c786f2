import { parseYamlText } from '../../support/yaml-file';
import { Differ, scopedChanges } from '../change';
import { ReleasePackage } from '../package-reader';

const RULE_FILE = /^monitoring\/prometheus\/.*\.ya?ml$/;

interface RuleFile {
  groups?: Array<{ rules?: Array<{ alert?: string; labels?: { severity?: string } }> }>;
}

/**
 * Alert rules added or removed, per Prometheus rule file. Tiered alerts share one name, so a
 * rule is its name and severity: `SpaceTimeServerDown (critical)`.
 */
export const alertRulesDiffer: Differ = {
  id: 'alert-rules',
  title: 'Alert rules',
  reads: RULE_FILE,
  diff: (before, after) => scopedChanges(alertsByFile(before), alertsByFile(after)),
};

function alertsByFile(pkg: ReleasePackage): Map<string, Map<string, true>> {
  const files = new Map<string, Map<string, true>>();
  for (const [path, data] of pkg.contents) {
    if (!RULE_FILE.test(path)) continue;
    const parsed = parseYamlText(data.toString('utf8'), `${pkg.source}: ${path}`) as RuleFile | null;
    const alerts = (parsed?.groups ?? []).flatMap((g) => g.rules ?? []).filter((r) => r.alert);
    if (!alerts.length) continue;
    files.set(path, new Map(alerts.map((r) => [r.labels?.severity ? `${r.alert} (${r.labels.severity})` : r.alert!, true])));
  }
  return files;
}
