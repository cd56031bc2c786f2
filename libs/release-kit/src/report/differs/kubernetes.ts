import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { ReleaseError } from '../../support/errors';
import { compareBytes } from '../../support/stable-json';
import { runTool } from '../../validation/findings';
import { findTool } from '../../validation/tools';
import { parseYamlStream } from '../../support/yaml-file';
import { Differ, scopedChanges } from '../change';
import { formatPathChange, objectDiff } from '../object-diff';
import { ReleasePackage } from '../package-reader';

const KUBERNETES = /^kubernetes\//;
const OVERLAY = /^kubernetes\/overlays\/([^/]+)\/kustomization\.ya?ml$/;

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/**
 * Kubernetes objects added, removed or changed in each overlay as `kubectl kustomize` renders
 * it, identified by apiVersion, kind, namespace and name. Changes are listed path by path;
 * a Secret's values are never shown.
 */
export const kubernetesDiffer: Differ = {
  id: 'kubernetes',
  title: 'Kubernetes objects (rendered overlays)',
  reads: KUBERNETES,
  diff: (before, after) =>
    scopedChanges(renderOverlays(before), renderOverlays(after), (b, a) =>
      objectDiff(b, a).map((c) => formatPathChange(c, (a as KubeObject).kind === 'Secret')),
    ),
};

/** Overlay name → object identity → object, for every overlay of the package. */
function renderOverlays(pkg: ReleasePackage): Map<string, Map<string, unknown>> {
  const overlays = [...pkg.contents.keys()].flatMap((p) => OVERLAY.exec(p)?.[1] ?? []).sort(compareBytes);
  const rendered = new Map<string, Map<string, unknown>>();
  if (!overlays.length) return rendered;
  const kubectl = findTool('kubectl');
  if (!kubectl.path)
    throw new ReleaseError('kubectl is not installed: the Kubernetes objects cannot be rendered', {
      file: 'kubectl',
      hint: kubectl.install,
    });
  const tree = mkdtempSync(join(tmpdir(), 'release-diff-kubernetes-'));
  try {
    for (const [path, data] of pkg.contents) {
      if (!KUBERNETES.test(path)) continue;
      // The package was verified, so its names are safe; a name that still leaves the folder is refused here too.
      const to = resolve(tree, path);
      if (!to.startsWith(`${tree}${sep}`))
        throw new ReleaseError('a file name leaves the package folder', { file: `${pkg.source}: ${path}` });
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, data);
    }
    for (const overlay of overlays) {
      const folder = `kubernetes/overlays/${overlay}`;
      const run = runTool(kubectl.path, ['kustomize', join(tree, folder)]);
      if (run.status !== 0)
        throw new ReleaseError(
          `kubectl kustomize failed: ${run.output
            .split(tree + '/')
            .join('')
            .trim()}`,
          { file: `${pkg.source}: ${folder}` },
        );
      const objects = parseYamlStream(run.output, `${pkg.source}: ${folder} (rendered)`) as Array<KubeObject | null>;
      rendered.set(overlay, new Map(objects.filter((o): o is KubeObject => !!o).map((o) => [identity(o), o])));
    }
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
  return rendered;
}

/** `apps/v1 Deployment spacetime-vr-staging/spacetime-vr` */
function identity(o: KubeObject): string {
  const namespace = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.apiVersion} ${o.kind} ${namespace}${o.metadata?.name}`;
}
