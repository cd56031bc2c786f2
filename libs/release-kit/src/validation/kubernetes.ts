import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, relative } from 'node:path';
import { ReleaseError } from '../support/errors';
import { lineFromMessage, runTool, ValidationContext } from './findings';
import { LocatedDoc, locatedDocuments } from './yaml-lines';

type Obj = Record<string, any>;
type Path = Array<string | number>;

/** Prefix of the annotation that waives a policy: `spacetime-vr.io/waive-<policy>: "<reason>"`. */
export const WAIVER_PREFIX = 'spacetime-vr.io/waive-';

interface Container {
  container: Obj;
  pod: Obj;
  /** Path of the container inside the workload object. */
  path: Path;
  init: boolean;
}

/** A policy checked on every container of every workload: returns what is wrong, or nothing. */
interface ContainerPolicy {
  id: string;
  appliesToInit: boolean;
  check(c: Container): { path: Path; message: string } | undefined;
}

const sc = (c: Container) => c.container.securityContext ?? {};

/** The policies (kubesec / Polaris style), as data. */
export const CONTAINER_POLICIES: ContainerPolicy[] = [
  {
    id: 'run-as-non-root',
    appliesToInit: true,
    check: (c) => {
      const nonRoot = sc(c).runAsNonRoot ?? c.pod.securityContext?.runAsNonRoot;
      const user = sc(c).runAsUser ?? c.pod.securityContext?.runAsUser;
      if (nonRoot === true && user !== 0) return undefined;
      return {
        path: ['securityContext', user === 0 ? 'runAsUser' : 'runAsNonRoot'],
        message: user === 0 ? 'runs as root (runAsUser: 0)' : 'does not set securityContext.runAsNonRoot: true (container or pod)',
      };
    },
  },
  {
    id: 'read-only-root-filesystem',
    appliesToInit: true,
    check: (c) =>
      sc(c).readOnlyRootFilesystem === true
        ? undefined
        : { path: ['securityContext', 'readOnlyRootFilesystem'], message: 'does not set securityContext.readOnlyRootFilesystem: true' },
  },
  {
    id: 'no-privilege-escalation',
    appliesToInit: true,
    check: (c) => {
      if (sc(c).privileged === true) return { path: ['securityContext', 'privileged'], message: 'is privileged' };
      return sc(c).allowPrivilegeEscalation === false
        ? undefined
        : {
            path: ['securityContext', 'allowPrivilegeEscalation'],
            message: 'does not set securityContext.allowPrivilegeEscalation: false',
          };
    },
  },
  {
    id: 'resources',
    appliesToInit: true,
    check: (c) => {
      const r = c.container.resources ?? {};
      const missing = ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'].filter((k) => {
        const [a, b] = k.split('.');
        return r[a]?.[b] === undefined || r[a]?.[b] === null || r[a]?.[b] === '';
      });
      return missing.length
        ? {
            path: ['resources', ...(r.requests ? (r.limits ? [] : ['limits']) : ['requests'])],
            message: `has no resource ${missing.join(', ')}`,
          }
        : undefined;
    },
  },
  {
    id: 'probes',
    appliesToInit: false,
    check: (c) => {
      const missing = ['livenessProbe', 'readinessProbe'].filter((p) => !c.container[p]);
      return missing.length ? { path: [missing[0]], message: `has no ${missing.join(' and ')}` } : undefined;
    },
  },
  {
    id: 'image-tag',
    appliesToInit: true,
    check: (c) => {
      const image = String(c.container.image ?? '');
      if (image.includes('@sha256:')) return undefined;
      const last = image.split('/').pop() ?? '';
      const tag = last.includes(':') ? last.split(':').pop() : undefined;
      if (!tag) return { path: ['image'], message: `image "${image}" has no tag` };
      if (tag === 'latest') return { path: ['image'], message: `image "${image}" uses the :latest tag` };
      return undefined;
    },
  },
];

const WORKLOAD_POD_SPEC: Record<string, Path> = {
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  Pod: ['spec'],
};

/** Where a rendered object came from: its source documents (overlay patches first, then base). */
class SourceIndex {
  private docs = new Map<string, Array<{ file: string; doc: LocatedDoc }>>();

  constructor(ctx: ValidationContext, folders: string[]) {
    for (const folder of folders) {
      const abs = ctx.abs(folder);
      if (!existsSync(abs)) continue;
      for (const name of readdirSync(abs).sort()) {
        if (!/\.ya?ml$/.test(name)) continue;
        const file = `${folder}/${name}`;
        let docs: LocatedDoc[];
        try {
          docs = locatedDocuments(readFileSync(join(abs, name), 'utf8'), file);
        } catch (e) {
          if (!(e instanceof ReleaseError)) throw e;
          ctx.add('k8s/yaml', file, e.line, e.message.replace(/^[^:]+:(\d+:)? /, ''));
          continue;
        }
        for (const doc of docs) {
          const v = doc.value as Obj;
          if (!v || typeof v !== 'object' || !v.kind || !v.metadata?.name) continue;
          const key = `${v.kind}/${v.metadata.name}`;
          this.docs.set(key, [...(this.docs.get(key) ?? []), { file, doc }]);
        }
      }
    }
  }

  /** The source file and line of a field of a rendered object: the document that has most of the path. */
  locate(obj: Obj, path: Path, fallback: string): { file: string; line?: number } {
    const candidates = this.docs.get(`${obj.kind}/${obj.metadata?.name}`) ?? [];
    let best: { file: string; line?: number; depth: number } | undefined;
    for (const { file, doc } of candidates) {
      const found = doc.find(path);
      if (!best || found.depth > best.depth) best = { file, ...found };
    }
    return best ? { file: best.file, line: best.line } : { file: fallback };
  }
}

/** kubernetes-models, loaded from its files (it ships ES modules only; Node 20.19+ requires them). */
function schemaValidator(): (obj: Obj) => Array<{ path: Path; message: string }> | 'unknown' {
  const root = (require.resolve.paths('kubernetes-models') ?? [])
    .map((p) => join(p, 'kubernetes-models'))
    .find((p) => existsSync(join(p, 'package.json')));
  if (!root) throw new ReleaseError('the npm package kubernetes-models is not installed', { file: 'package.json', hint: 'run `npm ci`' });
  const cache = new Map<string, any>();
  return (obj) => {
    const file = join(root, ...String(obj.apiVersion ?? '').split('/'), `${obj.kind}.js`);
    if (!obj.apiVersion || !obj.kind || !existsSync(file)) return 'unknown';
    if (!cache.has(file)) cache.set(file, require(file)[obj.kind]);
    const Model = cache.get(file);
    try {
      new Model(obj).validate();
      return [];
    } catch (e) {
      const errors = (e as { errors?: Array<{ instancePath: string; message?: string; params?: Obj }> }).errors;
      if (!errors) throw e;
      return errors.map((err) => {
        const path = err.instancePath
          .split('/')
          .slice(1)
          .map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, '/').replace(/~0/g, '~')));
        const extra = err.params?.additionalProperty
          ? ` (${err.params.additionalProperty})`
          : err.params?.missingProperty
            ? ` (${err.params.missingProperty})`
            : '';
        return { path, message: `${err.instancePath || '/'} ${err.message ?? 'is invalid'}${extra}` };
      });
    }
  };
}

interface Render {
  name: string;
  /** The kustomization (or, for a component, the component) being checked. */
  folder: string;
  /** Folders whose YAML the rendered objects come from, most specific first. */
  sources: string[];
  policies: boolean;
  /** A component is rendered on top of this overlay (a Component cannot be built alone). */
  onto?: string;
}

const subfolders = (ctx: ValidationContext, folder: string) => (existsSync(ctx.abs(folder)) ? readdirSync(ctx.abs(folder)).sort() : []);

export function validateKubernetes(ctx: ValidationContext): void {
  const top = ctx.section;
  const validate = schemaValidator();
  const renders: Render[] = [{ name: 'base', folder: `${top}/base`, sources: [`${top}/base`], policies: true }];
  const overlays = subfolders(ctx, `${top}/overlays`);
  for (const env of overlays) {
    const folder = `${top}/overlays/${env}`;
    renders.push({ name: env, folder, sources: [folder, `${top}/base`], policies: env === 'production' });
  }
  if (!overlays.includes('production')) ctx.add('k8s/overlay', `${top}/overlays`, undefined, 'has no production overlay');
  // Optional components (kubernetes/components/<name>) are checked as production would use them.
  const onto = renders.find((r) => r.name === 'production') ?? renders[0];
  for (const component of subfolders(ctx, `${top}/components`)) {
    const folder = `${top}/components/${component}`;
    renders.push({
      name: `${onto.name} with components/${component}`,
      folder,
      sources: [folder, ...onto.sources],
      policies: true,
      onto: onto.folder,
    });
  }

  const kubectl = ctx.tool('kubectl', 'kubectl kustomize (render every overlay)');
  if (kubectl) {
    for (const render of renders) {
      const index = new SourceIndex(ctx, render.sources);
      const run = runTool(kubectl, ['kustomize', render.onto ? componentOverlay(ctx, render.folder, render.onto) : ctx.abs(render.folder)]);
      if (run.status !== 0) {
        const message = run.output.trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit ${run.status}`;
        ctx.add(
          'k8s/render',
          `${render.folder}/kustomization.yaml`,
          lineFromMessage(message),
          `kubectl kustomize failed: ${message.replace(ctx.treeRoot + '/', '')}`,
        );
        continue;
      }
      const objects = locatedDocuments(run.output, `${render.folder} (rendered)`).map((d) => d.value as Obj);
      checkObjects(
        ctx,
        objects,
        validate,
        (obj, path) => index.locate(obj, path, `${render.folder}/kustomization.yaml`),
        render.policies ? render.name : undefined,
      );
    }
  }

  const charts = existsSync(ctx.abs(`${top}/helm`)) ? readdirSync(ctx.abs(`${top}/helm`)).sort() : [];
  for (const chart of charts) {
    const helm = ctx.tool('helm', `helm template ${top}/helm/${chart}`);
    if (!helm) continue;
    const folder = `${top}/helm/${chart}`;
    const run = runTool(helm, ['template', chart, ctx.abs(folder)]);
    if (run.status !== 0) {
      const message = run.output.split('\n').find((l) => l.startsWith('Error:')) ?? run.output.trim().split('\n').slice(-1)[0];
      // Helm names the template as `<chart>/templates/x.yaml:<line>`.
      const at = /\([^/()\s]+\/([^:()]+):(\d+)\)/.exec(message);
      const file = at ? `${folder}/${at[1]}` : `${folder}/Chart.yaml`;
      ctx.add(
        'k8s/helm-render',
        file,
        at ? Number(at[2]) : lineFromMessage(message),
        `helm template failed: ${message.replace(/^Error: /, '')}`,
      );
      continue;
    }
    const objects: Obj[] = [];
    const sources: string[] = [];
    for (const part of run.output.split(/^---\s*$/m)) {
      const source = /^# Source: [^/]+\/(.+)$/m.exec(part)?.[1];
      const docs = locatedDocuments(part, `${folder} (rendered)`);
      for (const d of docs) {
        if (!d.value) continue;
        objects.push(d.value as Obj);
        sources.push(source ? `${folder}/${source}` : `${folder}/Chart.yaml`);
      }
    }
    checkObjects(ctx, objects, validate, (obj) => ({ file: sources[objects.indexOf(obj)] }), `helm chart ${chart}`);
  }
}

/** A kustomization in the scratch folder that lists `component` on top of the kustomization `onto`. */
function componentOverlay(ctx: ValidationContext, component: string, onto: string): string {
  const dir = join(ctx.temp(), `component-${component.split('/').pop()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    `resources:\n  - ${relative(dir, ctx.abs(onto))}\ncomponents:\n  - ${relative(dir, ctx.abs(component))}\n`,
  );
  return dir;
}

/** What is wrong with a NetworkPolicy ipBlock CIDR (the API server rejects it only at deploy time). */
export function cidrProblem(cidr: unknown): string | undefined {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(String(cidr ?? ''));
  const family = match ? isIP(match[1]) : 0;
  if (!match || !family) return `"${cidr}" is not a CIDR (an IPv4 or IPv6 address, "/" and a prefix length, e.g. 10.20.0.0/24)`;
  const bits = family === 4 ? 32 : 128;
  if (Number(match[2]) > bits) return `"${cidr}" has a prefix length over ${bits}`;
  return undefined;
}

function checkCidrs(ctx: ValidationContext, obj: Obj, locate: (obj: Obj, path: Path) => { file: string; line?: number }): void {
  for (const [direction, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    (obj.spec?.[direction] ?? []).forEach((rule: Obj, r: number) =>
      (rule?.[peers] ?? []).forEach((peer: Obj, p: number) => {
        if (!peer?.ipBlock) return;
        const at: Path = ['spec', direction, r, peers, p, 'ipBlock'];
        const problems: Array<{ path: Path; message: string }> = [];
        const cidr = cidrProblem(peer.ipBlock.cidr);
        if (cidr) problems.push({ path: [...at, 'cidr'], message: `ipBlock.cidr ${cidr}` });
        (peer.ipBlock.except ?? []).forEach((except: unknown, e: number) => {
          const problem = cidrProblem(except);
          if (problem) problems.push({ path: [...at, 'except', e], message: `ipBlock.except ${problem}` });
        });
        for (const problem of problems) {
          const where = locate(obj, problem.path);
          const message = `NetworkPolicy ${obj.metadata?.name}: ${problem.message}`;
          // Every render that holds the policy finds it: report it once.
          if (!ctx.findings.some((f) => f.rule === 'k8s/cidr' && f.file === where.file && f.line === where.line && f.message === message))
            ctx.add('k8s/cidr', where.file, where.line, message);
        }
      }),
    );
  }
}

function checkObjects(
  ctx: ValidationContext,
  objects: Obj[],
  validate: ReturnType<typeof schemaValidator>,
  locate: (obj: Obj, path: Path) => { file: string; line?: number },
  policiesFor: string | undefined,
): void {
  ctx.checks.add('kubernetes schemas (kubernetes-models)');
  for (const obj of objects) {
    if (obj.kind === 'NetworkPolicy') checkCidrs(ctx, obj, locate);
    const result = validate(obj);
    if (result === 'unknown') {
      const at = locate(obj, ['kind']);
      ctx.add(
        'k8s/schema',
        at.file,
        at.line,
        `${obj.apiVersion}/${obj.kind} ${obj.metadata?.name ?? ''}: no Kubernetes schema for this apiVersion and kind`,
      );
      continue;
    }
    for (const error of result) {
      const at = locate(obj, error.path);
      ctx.add('k8s/schema', at.file, at.line, `${obj.kind} ${obj.metadata?.name}: ${error.message}`);
    }
  }
  if (!policiesFor) return;
  ctx.checks.add(`kubernetes policies (${policiesFor})`);
  const waived = (obj: Obj, policy: string, at: { file: string; line?: number }): boolean => {
    const annotations: Obj = { ...(obj.spec?.template?.metadata?.annotations ?? {}), ...(obj.metadata?.annotations ?? {}) };
    const key = `${WAIVER_PREFIX}${policy}`;
    if (!(key in annotations)) return false;
    const reason = String(annotations[key] ?? '').trim();
    if (!reason) {
      ctx.add(
        'k8s/waiver-reason',
        at.file,
        locate(obj, ['metadata', 'annotations', key]).line ?? at.line,
        `${obj.kind} ${obj.metadata?.name}: the waiver ${key} gives no reason`,
      );
      return false;
    }
    ctx.add(`k8s/${policy}`, at.file, at.line, `${obj.kind} ${obj.metadata?.name} (${policiesFor}): waived: ${reason}`, 'waiver');
    return true;
  };

  const workloads = objects.filter((o) => WORKLOAD_POD_SPEC[o.kind]);
  for (const obj of workloads) {
    const podPath = WORKLOAD_POD_SPEC[obj.kind];
    const pod = podPath.reduce<Obj | undefined>((o, k) => o?.[k], obj) ?? {};
    const containers: Container[] = [
      ...(pod.containers ?? []).map((container: Obj, i: number) => ({ container, pod, path: [...podPath, 'containers', i], init: false })),
      ...(pod.initContainers ?? []).map((container: Obj, i: number) => ({
        container,
        pod,
        path: [...podPath, 'initContainers', i],
        init: true,
      })),
    ];
    for (const policy of CONTAINER_POLICIES) {
      for (const c of containers) {
        if (c.init && !policy.appliesToInit) continue;
        const problem = policy.check(c);
        if (!problem) continue;
        const at = locate(obj, [...c.path, ...problem.path]);
        if (waived(obj, policy.id, at)) continue;
        ctx.add(
          `k8s/${policy.id}`,
          at.file,
          at.line,
          `${obj.kind} ${obj.metadata?.name} (${policiesFor}), container ${c.container.name}: ${problem.message}`,
        );
      }
    }
    const scalable = ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(obj.kind);
    if (scalable) {
      const hpa = objects.find(
        (o) =>
          o.kind === 'HorizontalPodAutoscaler' &&
          o.spec?.scaleTargetRef?.kind === obj.kind &&
          o.spec?.scaleTargetRef?.name === obj.metadata?.name,
      );
      const at = locate(obj, ['kind']);
      if (!hpa && !waived(obj, 'hpa', at))
        ctx.add('k8s/hpa', at.file, at.line, `${obj.kind} ${obj.metadata?.name} (${policiesFor}): no HorizontalPodAutoscaler scales it`);
    }
    const labels: Obj =
      (obj.kind === 'Pod' ? obj.metadata?.labels : podPath.slice(0, -1).reduce<Obj | undefined>((o, k) => o?.[k], obj)?.metadata?.labels) ??
      {};
    const selected = objects.some(
      (o) => o.kind === 'NetworkPolicy' && Object.entries(o.spec?.podSelector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
    );
    const at = locate(obj, ['kind']);
    if (!selected && !waived(obj, 'network-policy', at))
      ctx.add(
        'k8s/network-policy',
        at.file,
        at.line,
        `${obj.kind} ${obj.metadata?.name} (${policiesFor}): no NetworkPolicy selects its pods`,
      );
  }
}
