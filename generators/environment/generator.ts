import { joinPathFragments, logger, Tree } from '@nx/devkit';
import { ReleaseError } from '@spacetime/release-kit/src/support/errors';
import { deriveEnvTemplate, deriveOverlay, ENVIRONMENT_PATHS, overlayNamespace, resolveNewEnvironment } from '../lib/environment-scaffold';
import { appendToJsonArray, readJsonArray } from '../lib/json-edit';
import { assertDnsLabel } from '../lib/scaffold-names';
import type { EnvironmentGeneratorSchema } from './schema';

/**
 * nx g @spacetime/generators:environment <name> [--from=staging] [--replicas=N] [--namespace=NS]
 *   [--postgresqlCidrs=CIDR,...] [--redisCidrs=CIDR,...] [--force]
 * Everything is checked and derived before the first write, so bad input leaves the tree untouched.
 */
export default async function environmentGenerator(tree: Tree, options: EnvironmentGeneratorSchema) {
  const name = assertDnsLabel(options.name, 'the environment name');
  const { configDir, overlaysDir, releaseConfig, envTemplate, kustomization } = ENVIRONMENT_PATHS;
  const configText = read(tree, releaseConfig);
  const environments = readJsonArray(configText, 'environments', releaseConfig);

  const envDir = joinPathFragments(configDir, name);
  const overlayDir = joinPathFragments(overlaysDir, name);
  const existing = [
    environments.includes(name) && `"${name}" in ${releaseConfig} environments`,
    tree.exists(envDir) && `${envDir}/`,
    tree.exists(overlayDir) && `${overlayDir}/`,
  ].filter((x): x is string => typeof x === 'string');
  if (existing.length && !options.force) {
    throw new ReleaseError(`the environment "${name}" already exists (${existing.join(', ')})`, {
      hint: 'pick another name, or pass --force to overwrite it',
    });
  }
  const env = resolveNewEnvironment({
    name,
    from: options.from ?? 'staging',
    namespace: options.namespace,
    replicas: options.replicas,
    postgresqlCidrs: options.postgresqlCidrs,
    redisCidrs: options.redisCidrs,
  });

  const fromTemplate = joinPathFragments(configDir, env.from, envTemplate);
  const fromOverlay = joinPathFragments(overlaysDir, env.from);
  if (!environments.includes(env.from) || !tree.exists(fromTemplate)) {
    const known = environments.filter((e) => tree.exists(joinPathFragments(configDir, e, envTemplate)));
    throw new ReleaseError(`--from=${env.from}: unknown environment`, { hint: `copy one of: ${known.join(', ')}` });
  }
  if (!tree.exists(joinPathFragments(fromOverlay, kustomization))) {
    const withOverlay = environments.filter((e) => tree.exists(joinPathFragments(overlaysDir, e, kustomization)));
    throw new ReleaseError(`--from=${env.from}: the environment has no Kubernetes overlay to copy (${fromOverlay}/${kustomization})`, {
      hint: `copy one of: ${withOverlay.join(', ')}`,
    });
  }

  for (const other of environments.filter((e) => e !== name)) {
    const otherKustomization = joinPathFragments(overlaysDir, other, kustomization);
    if (tree.exists(otherKustomization) && overlayNamespace(read(tree, otherKustomization)) === env.namespace) {
      throw new ReleaseError(`--namespace=${env.namespace}: the ${other} environment deploys into it already`, {
        file: otherKustomization,
        hint: 'each environment needs a namespace of its own: leave --namespace out or name another one',
      });
    }
  }

  const template = deriveEnvTemplate(read(tree, fromTemplate), env);
  const sourceFiles: Record<string, string> = {};
  for (const child of tree.children(fromOverlay)) {
    const path = joinPathFragments(fromOverlay, child);
    if (tree.isFile(path)) sourceFiles[child] = read(tree, path);
  }
  const overlay = deriveOverlay(sourceFiles, env, fromOverlay);
  const newConfig = appendToJsonArray(configText, 'environments', env.name, releaseConfig);

  // Writes: only after every check passed.
  if (options.force && tree.exists(overlayDir)) tree.delete(overlayDir);
  tree.write(joinPathFragments(envDir, envTemplate), template);
  for (const [file, text] of Object.entries(overlay)) tree.write(joinPathFragments(overlayDir, file), text);
  if (newConfig !== configText) tree.write(releaseConfig, newConfig);

  logger.info(
    `Environment "${env.name}" (namespace ${env.namespace}) derived from ${env.from}. ` +
      `Review ${envDir}/${envTemplate} and ${overlayDir}/, ` +
      `then \`npx nx run release:assemble\`; scripts/deployment/deploy.sh ${env.name} accepts it in the next package, ` +
      `and Prometheus scrapes its pods as environment="${env.name}".`,
  );
}

function read(tree: Tree, path: string): string {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new ReleaseError('is missing', { file: path });
  return text;
}
