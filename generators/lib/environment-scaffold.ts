import { RELEASE_CONFIG_FILE } from '@spacetime/release-kit/src/format/release-config';
import { Document, isMap, isSeq, parseAllDocuments, parseDocument, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { ENV_KEY_LINE, envTemplateKeys } from '@spacetime/release-kit/src/format/env-template';
import { PACKAGE_NAME } from '@spacetime/release-kit/src/format/layout';
import { VERSION_TOKEN } from '@spacetime/release-kit/src/format/version-token';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { cidrProblem } from '@spacetime/release-kit/src/validation/kubernetes';
import { assertDnsLabel, displayName } from './scaffold-names';

/** Where an environment lives, relative to the workspace root. */
export const ENVIRONMENT_PATHS = {
  configDir: 'libs/sections/config/src',
  overlaysDir: 'libs/sections/kubernetes/src/overlays',
  releaseConfig: RELEASE_CONFIG_FILE,
  envTemplate: '.env.template',
  kustomization: 'kustomization.yaml',
} as const;

export interface NewEnvironment {
  /** The new environment (a DNS-1123 label). */
  name: string;
  /** The environment whose values and patches are copied. */
  from: string;
  /** Namespace of the overlay; default `spacetime-vr-<name>`. */
  namespace?: string;
  /** Game server replicas (Deployment replicas and HPA minReplicas); default: those of `from`. */
  replicas?: number;
  /** Address ranges of a managed PostgreSQL outside the cluster (a list, or one string separated by commas). */
  postgresqlCidrs?: string[] | string;
  /** Address ranges of a managed Redis outside the cluster. */
  redisCidrs?: string[] | string;
}

type CidrOption = 'postgresqlCidrs' | 'redisCidrs';

export interface ResolvedEnvironment extends Required<Omit<NewEnvironment, 'replicas' | CidrOption>> {
  replicas?: number;
  postgresqlCidrs?: string[];
  redisCidrs?: string[];
}

/**
 * The NetworkPolicy of each database that an overlay patches (database-egress.yaml), as data:
 * the option that gives its CIDRs replaces where its egress goes, as the Helm chart's
 * networkPolicy.<database>.cidrs does.
 */
export const DATABASE_EGRESS: Array<{ option: CidrOption; policy: string }> = [
  { option: 'postgresqlCidrs', policy: `${PACKAGE_NAME}-postgresql` },
  { option: 'redisCidrs', policy: `${PACKAGE_NAME}-redis` },
];

/** The namespace an overlay's kustomization.yaml sets, if it sets one. */
export function overlayNamespace(kustomizationText: string): string | undefined {
  const namespace = parseDocument(kustomizationText).get('namespace');
  return typeof namespace === 'string' ? namespace : undefined;
}

/** Checks the options of a new environment before anything is read or written. */
export function resolveNewEnvironment(options: NewEnvironment): ResolvedEnvironment {
  const name = assertDnsLabel(options.name, 'the environment name');
  const from = assertDnsLabel(options.from, '--from');
  if (from === name) throw new ReleaseError(`--from=${from}: an environment cannot be derived from itself`);
  const namespace = assertDnsLabel(options.namespace ?? `${PACKAGE_NAME}-${name}`, '--namespace');
  if (namespace === 'default' || namespace.startsWith('kube-')) {
    throw new ReleaseError(`--namespace=${namespace}: a Kubernetes system namespace cannot hold an environment`, {
      hint: `leave --namespace out (${PACKAGE_NAME}-${name}) or name a namespace of its own`,
    });
  }
  const replicas = options.replicas;
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > 1000)) {
    throw new ReleaseError(`--replicas=${replicas} is not a whole number from 1 to 1000`);
  }
  const resolved: ResolvedEnvironment = { name, from, namespace, replicas };
  for (const { option } of DATABASE_EGRESS) {
    const cidrs = cidrList(options[option], option);
    if (cidrs) resolved[option] = cidrs;
  }
  return resolved;
}

/** The CIDRs of an option, each checked: Nx passes a list, a direct caller may pass "a,b". */
function cidrList(value: string[] | string | undefined, option: CidrOption): string[] | undefined {
  if (value === undefined) return undefined;
  const list = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((v) => v.trim());
  if (!list.length || list.every((v) => !v))
    throw new ReleaseError(`--${option} is empty`, { hint: 'give one or more CIDRs, e.g. 10.20.0.0/24' });
  for (const cidr of list) {
    const problem = cidrProblem(cidr);
    if (problem) throw new ReleaseError(`--${option}: ${problem}`);
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// config/<env>/.env.template
// ---------------------------------------------------------------------------------------------

const PLACEHOLDER = /^<[A-Z][A-Z0-9_]*>$/;
const SECRET_KEY = /(SECRET|PASSWORD|PASSPHRASE|TOKEN|API_KEY|PRIVATE_KEY)$/;
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)([^@]*)(@.*)$/;

/**
 * Derives the template of a new environment from an existing one: the same keys in the same
 * order, the environment's identity (ENVIRONMENT, SPACETIME_ENV, KUBERNETES_NAMESPACE,
 * PUBLIC_GAME_HOST, its own database) set for the new environment, every other value copied,
 * and every secret a `<PLACEHOLDER>` whatever the source held.
 */
export function deriveEnvTemplate(source: string, env: ResolvedEnvironment): string {
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  const out = lines.map((line, index) => {
    const match = ENV_KEY_LINE.exec(line);
    if (!match) {
      if (index === 0 && /^# SpaceTime VR - .* environment template$/.test(line)) {
        return `# SpaceTime VR - ${env.name.toUpperCase()} environment template`;
      }
      return line.startsWith('#') ? renameInComment(line, env.from, env.name) : line;
    }
    const [, key, value] = match;
    return `${key}=${deriveEnvValue(key, value, env)}`;
  });
  const header = out.findIndex((l) => /^# SpaceTime VR - .* environment template$/.test(l));
  if (header >= 0)
    out.splice(header + 1, 0, `# Derived from the ${env.from} template by \`nx g @spacetime/generators:environment\`: review every value.`);
  const result = out.join('\n');
  const before = envTemplateKeys(source);
  const after = envTemplateKeys(result);
  if (before.join('\n') !== after.join('\n')) throw new Error('internal error: the derived template changed its keys');
  return result;
}

function deriveEnvValue(key: string, value: string, env: ResolvedEnvironment): string {
  switch (key) {
    case 'ENVIRONMENT':
    case 'SPACETIME_ENV':
      return env.name;
    case 'KUBERNETES_NAMESPACE':
      return env.namespace;
    case 'PUBLIC_GAME_HOST':
      return deriveHost(value, env.from, env.name);
  }
  if (SECRET_KEY.test(key) && !PLACEHOLDER.test(value)) return `<${key}>`;
  const url = URL_PASSWORD.exec(value);
  if (url && !PLACEHOLDER.test(url[2])) value = `${url[1]}<${key.replace(/_URL$/, '')}_PASSWORD>${url[3]}`;
  if (key === 'DATABASE_URL') {
    // Every environment has a database of its own: never share one with the source environment.
    value = value.replace(
      /^([a-z][a-z0-9+.-]*:\/\/[^/]*\/)([^?#]*)/,
      `$1${PACKAGE_NAME.replace(/-/g, '_')}_${env.name.replace(/-/g, '_')}`,
    );
  }
  return value;
}

/**
 * The host of the new environment: the source environment's label replaced
 * (`play.staging.example.com` -> `play.qa.example.com`), else the new name put in front
 * (`example.com` -> `qa.example.com`).
 */
export function deriveHost(host: string, from: string, name: string): string {
  const labels = host.split('.');
  const index = labels.indexOf(from);
  if (index >= 0) labels[index] = name;
  else labels.unshift(name);
  return labels.join('.');
}

/**
 * Renames the source environment in prose (`Staging`, `STAGING`, and with `lowerCase` also
 * `staging`) and paths (`overlays/staging`). The env templates keep lower-case words: there
 * they name other files (`config/production/prometheus.yml`).
 */
function renameInComment(line: string, from: string, name: string, lowerCase = false): string {
  const word = (w: string) => new RegExp(`(?<![A-Za-z0-9-])${w}(?![A-Za-z0-9-])`, 'g');
  if (lowerCase) line = line.replace(word(from), name);
  return line
    .replace(word(`overlays/${from}`), `overlays/${name}`)
    .replace(word(displayNameOf(from)), displayName(name))
    .replace(word(from.toUpperCase()), name.toUpperCase());
}

function displayNameOf(name: string): string {
  return name[0].toUpperCase() + name.slice(1);
}

// ---------------------------------------------------------------------------------------------
// kubernetes/overlays/<env>/
// ---------------------------------------------------------------------------------------------

/**
 * Derives the overlay of a new environment from the files of an existing one: the same
 * patches, with the namespace, the `environment` label, hosts, TLS secret, ConfigMap
 * ENVIRONMENT and (when given) replicas and database CIDRs of the new environment, and the
 * image tag left as `{{version}}` for the package step to fill in.
 */
export function deriveOverlay(files: Record<string, string>, env: ResolvedEnvironment, shownAs: string): Record<string, string> {
  if (!(ENVIRONMENT_PATHS.kustomization in files)) {
    throw new ReleaseError(`the ${env.from} environment has no ${ENVIRONMENT_PATHS.kustomization} to copy`, { file: shownAs });
  }
  const result: Record<string, string> = {};
  const patchedPolicies = new Set<string>();
  for (const file of Object.keys(files).sort()) {
    const text = files[file];
    if (!/\.ya?ml$/.test(file)) {
      result[file] = text;
      continue;
    }
    const docs = parseAllDocuments(text);
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      if (doc.errors.length)
        throw new ReleaseError(`invalid YAML: ${doc.errors[0].message.split('\n')[0]}`, {
          file: `${shownAs}/${file}`,
          line: doc.errors[0].linePos?.[0]?.line,
        });
      const kind = file === ENVIRONMENT_PATHS.kustomization ? 'Kustomization' : doc.get('kind');
      if (kind === 'Kustomization') editKustomization(doc, env);
      else if (kind === 'Deployment' && env.replicas !== undefined) doc.setIn(['spec', 'replicas'], env.replicas);
      else if (kind === 'HorizontalPodAutoscaler' && env.replicas !== undefined) {
        doc.setIn(['spec', 'minReplicas'], env.replicas);
        const max = Number(doc.getIn(['spec', 'maxReplicas']) ?? 0);
        if (max < env.replicas) doc.setIn(['spec', 'maxReplicas'], env.replicas);
      } else if (kind === 'ConfigMap' && doc.hasIn(['data', 'ENVIRONMENT'])) {
        doc.setIn(['data', 'ENVIRONMENT'], quoted(env.name));
      } else if (kind === 'NetworkPolicy') {
        const edited = editDatabaseEgress(doc, env);
        if (edited) patchedPolicies.add(edited);
      } else if (isSeq(doc.contents)) editJsonPatch(doc.contents, env);
    }
    result[file] = (Array.isArray(docs) ? docs : [docs])
      .map((doc) => doc.toString({ lineWidth: 0 }))
      .join('')
      .split('\n')
      .map((line) => (/^\s*#/.test(line) ? renameInComment(line, env.from, env.name, true) : line))
      .join('\n');
  }
  for (const { option, policy } of DATABASE_EGRESS) {
    if (env[option] && !patchedPolicies.has(policy))
      throw new ReleaseError(
        `--${option}: the ${env.from} overlay does not patch the NetworkPolicy ${policy}, so it has no egress to set`,
        {
          file: shownAs,
          hint: `copy an overlay whose database-egress.yaml patches ${policy} (production, staging)`,
        },
      );
  }
  return result;
}

/** The database egress of the new environment: every rule of the policy goes to the given CIDRs. */
function editDatabaseEgress(doc: Document, env: ResolvedEnvironment): string | undefined {
  const name = doc.getIn(['metadata', 'name']);
  const database = DATABASE_EGRESS.find((d) => d.policy === name);
  const cidrs = database && env[database.option];
  if (!cidrs) return undefined;
  const egress = doc.getIn(['spec', 'egress']);
  if (!isSeq(egress) || !egress.items.length) return undefined;
  for (const rule of egress.items) if (isMap(rule)) rule.set('to', doc.createNode(cidrs.map((cidr) => ({ ipBlock: { cidr } }))));
  return database.policy;
}

function editKustomization(doc: Document, env: ResolvedEnvironment): void {
  doc.set('namespace', env.namespace);
  // The `environment` label on every object (selectors untouched, as in the other overlays).
  let labels = doc.get('labels');
  if (!isSeq(labels)) {
    labels = doc.createNode([]);
    doc.set('labels', labels);
  }
  const labelSeq = labels as YAMLSeq;
  const withEnvironment = labelSeq.items.find(
    (item) => isMap(item) && isMap(item.get('pairs')) && (item.get('pairs') as YAMLMap).has('environment'),
  );
  if (withEnvironment) ((withEnvironment as YAMLMap).get('pairs') as YAMLMap).set('environment', env.name);
  else labelSeq.items.push(doc.createNode({ pairs: { environment: env.name }, includeSelectors: false, includeTemplates: true }));
  // The image tag is the release version, filled in by the package step.
  let images = doc.get('images');
  if (!isSeq(images)) {
    images = doc.createNode([]);
    doc.set('images', images);
  }
  const imageSeq = images as YAMLSeq;
  const image = imageSeq.items.find((item) => isMap(item) && item.get('name') === PACKAGE_NAME) as YAMLMap | undefined;
  if (image) image.set('newTag', quoted(VERSION_TOKEN));
  else imageSeq.items.push(doc.createNode({ name: PACKAGE_NAME, newTag: quoted(VERSION_TOKEN) }));
  // Drop a name suffix or prefix of the source: names stay those of the base, namespaced per environment.
  for (const key of ['nameSuffix', 'namePrefix']) {
    const value = doc.get(key);
    if (typeof value === 'string' && value.includes(env.from)) doc.set(key, value.split(env.from).join(env.name));
  }
}

/** JSON 6902 patches (the Ingress patch): hosts and the TLS secret of the new environment. */
function editJsonPatch(seq: YAMLSeq, env: ResolvedEnvironment): void {
  for (const op of seq.items) {
    if (!isMap(op)) continue;
    const path = op.get('path');
    const value = op.get('value');
    if (typeof path !== 'string' || typeof value !== 'string') continue;
    if (/\/host$|\/hosts\/\d+$/.test(path)) op.set('value', deriveHost(value, env.from, env.name));
    else if (/\/secretName$/.test(path)) op.set('value', `${PACKAGE_NAME}-${env.name}-tls`);
  }
}

function quoted(value: string): Scalar {
  const scalar = new Scalar(value);
  scalar.type = Scalar.QUOTE_DOUBLE;
  return scalar;
}
