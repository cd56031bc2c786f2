import { RELEASE_CONFIG_FILE } from '@spacetime/release-kit/src/format/release-config';
import { Document, isMap, isSeq, parseDocument, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { ENV_KEY_LINE, envTemplateKeys } from '@spacetime/release-kit/src/format/env-template';
import { PACKAGE_NAME } from '@spacetime/release-kit/src/format/layout';
import { VERSION_TOKEN } from '@spacetime/release-kit/src/format/version-token';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
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
}

export interface ResolvedEnvironment extends Required<Omit<NewEnvironment, 'replicas'>> {
  replicas?: number;
}

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
  return { name, from, namespace, replicas };
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
 * ENVIRONMENT and (when given) replicas of the new environment, and the image tag left as
 * `{{version}}` for the package step to fill in.
 */
export function deriveOverlay(files: Record<string, string>, env: ResolvedEnvironment, shownAs: string): Record<string, string> {
  if (!(ENVIRONMENT_PATHS.kustomization in files)) {
    throw new ReleaseError(`the ${env.from} environment has no ${ENVIRONMENT_PATHS.kustomization} to copy`, { file: shownAs });
  }
  const result: Record<string, string> = {};
  for (const file of Object.keys(files).sort()) {
    const text = files[file];
    if (!/\.ya?ml$/.test(file)) {
      result[file] = text;
      continue;
    }
    const doc = parseDocument(text);
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
    } else if (isSeq(doc.contents)) editJsonPatch(doc.contents, env);
    result[file] = doc
      .toString({ lineWidth: 0 })
      .split('\n')
      .map((line) => (/^\s*#/.test(line) ? renameInComment(line, env.from, env.name, true) : line))
      .join('\n');
  }
  return result;
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
