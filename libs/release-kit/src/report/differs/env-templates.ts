import { envTemplateKeys } from '../../format/env-template';
import { Differ, scopedChanges } from '../change';
import { ReleasePackage } from '../package-reader';

const TEMPLATE = /^config\/([^/]+)\/\.env\.template$/;

/** Keys added to or removed from each environment's .env.template: names only, never values. */
export const envTemplatesDiffer: Differ = {
  id: 'env-templates',
  title: 'Environment template keys',
  reads: TEMPLATE,
  codeSubjects: true,
  diff: (before, after) => scopedChanges(keysByEnvironment(before), keysByEnvironment(after)),
};

function keysByEnvironment(pkg: ReleasePackage): Map<string, Map<string, true>> {
  const environments = new Map<string, Map<string, true>>();
  for (const [path, data] of pkg.contents) {
    const environment = TEMPLATE.exec(path)?.[1];
    if (environment) environments.set(environment, new Map(envTemplateKeys(data.toString('utf8')).map((k) => [k, true])));
  }
  return environments;
}
