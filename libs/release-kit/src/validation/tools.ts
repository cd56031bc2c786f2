import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A tool the release depends on: how to find it, read its version, and install it. */
export interface ToolSpec {
  name: ToolName;
  /** Commands tried in order (the first found on PATH wins). */
  commands: string[];
  versionArgs: string[];
  /** Picks the version out of the version output. */
  versionPattern: RegExp;
  minimum: string;
  /** Why the release needs it. */
  purpose: string;
  install: string;
}

export type ToolName =
  'kubectl' | 'helm' | 'python3' | 'git' | 'gpg' | 'promtool' | 'amtool' | 'nginx' | 'shellcheck' | 'psql' | 'openssl' | 'bash';

/**
 * The toolchain, as data: `release:doctor` reports it, the validators look tools up in it. The
 * Godot engine and the Docker engine are not here: the doctor finds them as the build does.
 */
export const TOOLS: ToolSpec[] = [
  {
    name: 'kubectl',
    commands: ['kubectl'],
    versionArgs: ['version', '--client'],
    versionPattern: /Client Version: v?(\d+\.\d+\.\d+)/,
    minimum: '1.25.0',
    purpose: 'renders the kustomize overlays',
    install: 'apt-get install kubectl (or the Kubernetes apt repository)',
  },
  {
    name: 'helm',
    commands: ['helm'],
    versionArgs: ['version', '--short'],
    versionPattern: /v?(\d+\.\d+\.\d+)/,
    minimum: '3.0.0',
    purpose: 'renders the Helm chart',
    install: 'tools/install-toolchain.sh installs Helm 3 (not packaged in Debian)',
  },
  {
    name: 'python3',
    commands: ['python3'],
    versionArgs: ['--version'],
    versionPattern: /Python (\d+\.\d+\.\d+)/,
    minimum: '3.8.0',
    purpose: 'runs the integration and load tests',
    install: 'apt-get install python3',
  },
  {
    name: 'git',
    commands: ['git'],
    versionArgs: ['--version'],
    versionPattern: /version (\d+\.\d+\.\d+)/,
    minimum: '2.0.0',
    purpose: 'release identity (commit, clean tree)',
    install: 'apt-get install git',
  },
  {
    name: 'gpg',
    commands: ['gpg'],
    versionArgs: ['--version'],
    versionPattern: /gpg \(GnuPG\) (\d+\.\d+\.\d+)/,
    minimum: '2.0.0',
    purpose: 'signs and verifies SHA256SUMS',
    install: 'apt-get install gnupg',
  },
  {
    name: 'promtool',
    commands: ['promtool'],
    versionArgs: ['--version'],
    versionPattern: /version (\d+\.\d+\.\d+)/,
    minimum: '2.0.0',
    purpose: 'checks the Prometheus configuration and rules',
    install: 'apt-get install prometheus',
  },
  {
    name: 'amtool',
    commands: ['amtool'],
    versionArgs: ['--version'],
    versionPattern: /version (\d+\.\d+\.\d+)/,
    minimum: '0.20.0',
    purpose: 'checks the Alertmanager configuration',
    install: 'apt-get install prometheus-alertmanager',
  },
  {
    name: 'nginx',
    commands: ['nginx', '/usr/sbin/nginx'],
    versionArgs: ['-v'],
    versionPattern: /nginx\/(\d+\.\d+\.\d+)/,
    minimum: '1.18.0',
    purpose: 'checks nginx.conf (nginx -t)',
    install: 'apt-get install nginx',
  },
  {
    name: 'shellcheck',
    commands: ['shellcheck'],
    versionArgs: ['--version'],
    versionPattern: /version: (\d+\.\d+\.\d+)/,
    minimum: '0.7.0',
    purpose: 'lints the shipped shell scripts',
    install: 'apt-get install shellcheck',
  },
  {
    name: 'psql',
    commands: ['psql'],
    versionArgs: ['--version'],
    versionPattern: /(\d+(?:\.\d+)+)/,
    minimum: '15.0.0',
    purpose: 'runs the migration, backup and restore scripts',
    install: 'apt-get install postgresql',
  },
  {
    name: 'openssl',
    commands: ['openssl'],
    versionArgs: ['version'],
    versionPattern: /OpenSSL (\d+\.\d+\.\d+)/,
    minimum: '1.1.1',
    purpose: 'makes throwaway certificates for nginx -t',
    install: 'apt-get install openssl',
  },
  {
    name: 'bash',
    commands: ['bash'],
    versionArgs: ['--version'],
    versionPattern: /version (\d+\.\d+\.\d+)/,
    minimum: '4.0.0',
    purpose: 'bash -n on the shipped scripts',
    install: 'apt-get install bash',
  },
];

/** Tools `release:doctor` reports (openssl and bash are prerequisites, not part of the spec's list). */
export const DOCTOR_TOOLS: ToolName[] = ['kubectl', 'helm', 'python3', 'git', 'gpg', 'promtool', 'amtool', 'nginx', 'shellcheck', 'psql'];

export interface FoundTool {
  spec: ToolSpec;
  path?: string;
  install: string;
}

const found = new Map<ToolName, FoundTool>();

/** Finds a tool on PATH; cached per process. */
export function findTool(name: ToolName): FoundTool {
  const cached = found.get(name);
  if (cached) return cached;
  const spec = TOOLS.find((t) => t.name === name)!;
  let path: string | undefined;
  for (const command of spec.commands) {
    path = which(command);
    if (path) break;
  }
  const result = { spec, path, install: spec.install };
  found.set(name, result);
  return result;
}

/** Forgets what findTool found (tests change PATH). */
export function resetToolCache(): void {
  found.clear();
}

function which(command: string): string | undefined {
  const dirs = command.includes('/') ? [''] : [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = dir ? join(dir, command) : command;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export type ToolStatus = 'found' | 'missing' | 'too old';

export interface ToolReport {
  name: ToolName;
  status: ToolStatus;
  found?: string;
  minimum: string;
  path?: string;
  purpose: string;
  install: string;
}

/** Each tool with the version found against its minimum (`release:doctor`); the tools are asked at once. */
export function checkTools(names: ToolName[] = DOCTOR_TOOLS): Promise<ToolReport[]> {
  return Promise.all(names.map(checkTool));
}

async function checkTool(name: ToolName): Promise<ToolReport> {
  const tool = findTool(name);
  const base = { name, minimum: tool.spec.minimum, purpose: tool.spec.purpose, install: tool.spec.install };
  if (!tool.path) return { ...base, status: 'missing' };
  const run = await new Promise<{ output: string; error: (Error & { code?: unknown }) | null }>((resolve) =>
    execFile(
      tool.path!,
      tool.spec.versionArgs,
      { encoding: 'utf8', timeout: 20_000, env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout, stderr) => resolve({ output: `${stdout}${stderr}`, error }),
    ),
  );
  const version = tool.spec.versionPattern.exec(run.output)?.[1];
  if (!version) {
    const reason = run.output.trim().split('\n')[0] || `${run.error?.code ?? run.error?.message}`;
    return { ...base, path: tool.path, status: 'missing', found: `unreadable version (${reason})` };
  }
  return { ...base, path: tool.path, found: version, status: compareVersions(version, tool.spec.minimum) < 0 ? 'too old' : 'found' };
}

/** Compares dotted numeric versions (missing parts count as 0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}
