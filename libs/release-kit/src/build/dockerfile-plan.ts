import { posix } from 'node:path';
import { ReleaseError } from '../support/errors';
import { Dockerfile, DockerfileInstruction, expandWord, expandWords, jsonStrings, Variables } from './dockerfile';
import { Platform, platformName } from './platform';

/**
 * What a Dockerfile asks of an image, without running anything: its base image, the files each
 * COPY adds (one layer each), and the image config its other instructions set on top of the base
 * image's, as BuildKit sets them. Instructions that run something inside the image, or read
 * another stage, need the Docker engine; `engineOnly` names them.
 */

/** The `config` object of an OCI image config, with Docker's Healthcheck, Shell and OnBuild. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: Healthcheck;
  Shell?: string[];
  OnBuild?: string[] | null;
}

/** Durations in nanoseconds, as Docker stores them; 0 (left out) is the engine's default. */
export interface Healthcheck {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface CopyStep {
  line: number;
  /** Paths or wildcards relative to the build context, variables substituted. */
  sources: string[];
  /** Absolute; a trailing `/` (or several sources) makes it a folder. */
  destination: string;
  /** --chmod: the mode of every file copied; otherwise each file keeps its mode in the context. */
  chmod?: number;
}

export interface PlannedStep {
  /** The instruction as the image's history records it. */
  createdBy: string;
  copy?: CopyStep;
}

export interface DockerfilePlan {
  config: ContainerConfig;
  author?: string;
  steps: PlannedStep[];
}

export interface EngineOnlyStep {
  line: number;
  why: string;
}

const ENGINE_ONLY: Record<string, string> = {
  RUN: 'RUN runs a command inside the image',
  ADD: 'ADD fetches URLs and unpacks archives (COPY adds files of the build context)',
  ONBUILD: 'ONBUILD sets instructions for images built FROM this one',
};

/** The steps only the Docker engine can build: RUN, ADD, ONBUILD, a second stage, COPY --from. */
export function engineOnly(dockerfile: Dockerfile): EngineOnlyStep[] {
  const found: EngineOnlyStep[] = [];
  let stages = 0;
  for (const i of dockerfile.instructions) {
    if (ENGINE_ONLY[i.keyword]) found.push({ line: i.line, why: ENGINE_ONLY[i.keyword] });
    if (i.keyword === 'FROM' && ++stages === 2) found.push({ line: i.line, why: 'a second FROM starts a multi-stage build' });
    if (i.keyword === 'COPY' && i.flags.from !== undefined)
      found.push({ line: i.line, why: 'COPY --from copies from another stage or image' });
  }
  return found;
}

/** The automatic platform arguments BuildKit gives every build (declared with ARG to be used in a stage). */
export function platformArgs(target: Platform, build: Platform): Record<string, string> {
  return {
    TARGETPLATFORM: platformName(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
    BUILDPLATFORM: platformName(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
  };
}

/** The image the first FROM names, with the ARGs before it (and the build arguments) substituted. */
export function baseReference(dockerfile: Dockerfile, buildArgs: Record<string, string>): { reference: string; line: number } {
  const scope = globalArgs(dockerfile, buildArgs);
  const from = dockerfile.instructions.find((i) => i.keyword === 'FROM');
  if (!from) throw new ReleaseError('has no FROM instruction', { file: dockerfile.file });
  const where = { file: dockerfile.file, line: from.line };
  const platform = from.flags.platform;
  if (platform !== undefined && !/^\$\{?TARGETPLATFORM\}?$/.test(String(platform)))
    throw new ReleaseError(`FROM --platform=${platform}: the image of each platform is built FROM that platform's base`, where);
  const [reference, as, ...rest] = expandWords(from.args, scope, dockerfile.escape, where);
  if (!reference || (as !== undefined && (as.toUpperCase() !== 'AS' || rest.length !== 1)))
    throw new ReleaseError(`FROM ${from.args}: expected FROM <image> [AS <name>]`, where);
  return { reference, line: from.line };
}

function globalArgs(dockerfile: Dockerfile, buildArgs: Record<string, string>): Map<string, string> {
  const scope = new Map<string, string>();
  for (const i of dockerfile.instructions) {
    if (i.keyword === 'FROM') break;
    if (i.keyword !== 'ARG') continue;
    for (const [name, value] of argDeclarations(i, scope, dockerfile)) scope.set(name, buildArgs[name] ?? value ?? '');
  }
  for (const [name, value] of Object.entries(buildArgs)) if (/^(TARGET|BUILD)/.test(name) && !scope.has(name)) scope.set(name, value);
  return scope;
}

function argDeclarations(i: DockerfileInstruction, scope: Variables, dockerfile: Dockerfile): Array<[string, string | undefined]> {
  const where = { file: dockerfile.file, line: i.line };
  return expandWords(i.args, scope, dockerfile.escape, where).map((word) => {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ReleaseError(`ARG ${i.args}: "${name}" is not a variable name`, where);
    return [name, eq < 0 ? undefined : word.slice(eq + 1)];
  });
}

/** BuildKit's PATH for an image whose base sets none. */
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Stage {
  dockerfile: Dockerfile;
  instruction: DockerfileInstruction;
  config: ContainerConfig;
  author?: string;
  args: Map<string, string>;
  global: Map<string, string>;
  buildArgs: Record<string, string>;
  /** CMD was set in this Dockerfile: ENTRYPOINT then keeps it. */
  cmdSet: boolean;
  copy?: CopyStep;
}

type Apply = (s: Stage) => void;

/** What each file-only instruction does to the image (FROM and ARG of the global scope are read before). */
const INSTRUCTIONS: Record<string, Apply> = {
  ARG: (s) => {
    for (const [name, value] of argDeclarations(s.instruction, variables(s), s.dockerfile))
      s.args.set(name, s.buildArgs[name] ?? s.global.get(name) ?? value ?? '');
  },
  ENV: (s) => {
    for (const [key, value] of pairs(s, 'ENV')) setEnv(s.config, key, value);
  },
  LABEL: (s) => {
    for (const [key, value] of pairs(s, 'LABEL')) s.config.Labels = { ...s.config.Labels, [key]: value };
  },
  WORKDIR: (s) => {
    s.config.WorkingDir = posix.resolve(s.config.WorkingDir || '/', word(s));
  },
  USER: (s) => {
    s.config.User = word(s);
  },
  STOPSIGNAL: (s) => {
    const signal = word(s);
    if (!/^(SIG[A-Z0-9+-]+|\d+)$/.test(signal)) throw instructionError(s, `"${signal}" is not a signal (SIGTERM, 15)`);
    s.config.StopSignal = signal;
  },
  EXPOSE: (s) => {
    const ports = { ...s.config.ExposedPorts };
    for (const port of words(s).flatMap((w) => exposedPorts(w, s))) ports[port] = {};
    s.config.ExposedPorts = ports;
  },
  VOLUME: (s) => {
    const volumes = { ...s.config.Volumes };
    for (const path of s.instruction.json ?? words(s)) volumes[path] = {};
    s.config.Volumes = volumes;
  },
  SHELL: (s) => {
    if (!s.instruction.json?.length) throw instructionError(s, 'SHELL takes the exec form: SHELL ["/bin/sh", "-c"]');
    s.config.Shell = s.instruction.json;
  },
  CMD: (s) => {
    s.config.Cmd = command(s);
    s.cmdSet = true;
  },
  ENTRYPOINT: (s) => {
    s.config.Entrypoint = command(s);
    if (!s.cmdSet) s.config.Cmd = null;
  },
  HEALTHCHECK: (s) => {
    s.config.Healthcheck = healthcheck(s);
  },
  MAINTAINER: (s) => {
    s.author = s.instruction.args;
  },
  COPY: (s) => {
    s.copy = copyStep(s);
  },
};

/**
 * The image config and layers a Dockerfile gives on top of a base image's config, for one
 * platform. Call only when `engineOnly` found nothing.
 */
export function planImage(
  dockerfile: Dockerfile,
  o: { baseConfig: ContainerConfig; buildArgs: Record<string, string>; baseAuthor?: string },
): DockerfilePlan {
  const config: ContainerConfig = structuredClone(o.baseConfig);
  if (!config.Env?.some((e) => e.startsWith('PATH='))) config.Env = [DEFAULT_PATH, ...(config.Env ?? [])];
  const stage: Omit<Stage, 'instruction'> = {
    dockerfile,
    config,
    author: o.baseAuthor,
    args: new Map(),
    global: globalArgs(dockerfile, o.buildArgs),
    buildArgs: o.buildArgs,
    cmdSet: false,
  };
  const steps: PlannedStep[] = [];
  let inStage = false;
  for (const instruction of dockerfile.instructions) {
    if (instruction.keyword === 'FROM') {
      inStage = true;
      continue;
    }
    if (!inStage) continue;
    const apply = INSTRUCTIONS[instruction.keyword];
    const s: Stage = { ...stage, instruction, copy: undefined };
    if (!apply)
      throw instructionError(
        s,
        ENGINE_ONLY[instruction.keyword]
          ? `${ENGINE_ONLY[instruction.keyword]}: only the Docker engine builds it`
          : `"${instruction.keyword}" is not a Dockerfile instruction`,
      );
    apply(s);
    Object.assign(stage, { author: s.author, cmdSet: s.cmdSet });
    steps.push({ createdBy: createdBy(instruction), copy: s.copy });
  }
  return { config, author: stage.author, steps };
}

function createdBy(i: DockerfileInstruction): string {
  const flags = Object.entries(i.flags).map(([name, value]) => (value === true ? `--${name}` : `--${name}=${value}`));
  return [i.keyword, ...flags, i.args].join(' ');
}

function variables(s: Stage): Variables {
  const vars = new Map(s.args);
  for (const entry of s.config.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return vars;
}

function where(s: Stage) {
  return { file: s.dockerfile.file, line: s.instruction.line };
}

function instructionError(s: Stage, message: string, hint?: string): ReleaseError {
  return new ReleaseError(message, { ...where(s), hint });
}

function words(s: Stage): string[] {
  return expandWords(s.instruction.args, variables(s), s.dockerfile.escape, where(s));
}

function word(s: Stage): string {
  const value = expandWord(s.instruction.args, variables(s), s.dockerfile.escape, where(s));
  if (!value) throw instructionError(s, `${s.instruction.keyword} needs a value`);
  return value;
}

/** `KEY=value ...`, or ENV's old form `ENV KEY value with spaces`. */
function pairs(s: Stage, keyword: 'ENV' | 'LABEL'): Array<[string, string]> {
  const all = words(s);
  if (keyword === 'ENV' && all.length && !all[0].includes('=')) {
    const [key, ...value] = all;
    return [[key, value.join(' ')]];
  }
  return all.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw instructionError(s, `${keyword} ${s.instruction.args}: "${w}" is not KEY=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function setEnv(config: ContainerConfig, key: string, value: string): void {
  const env = (config.Env ?? []).filter((e) => !e.startsWith(`${key}=`));
  const at = (config.Env ?? []).findIndex((e) => e.startsWith(`${key}=`));
  if (at >= 0) env.splice(at, 0, `${key}=${value}`);
  else env.push(`${key}=${value}`);
  config.Env = env;
}

function exposedPorts(text: string, s: Stage): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(text);
  const first = Number(m?.[1]);
  const last = Number(m?.[2] ?? m?.[1]);
  if (!m || first < 1 || last > 65535 || last < first) throw instructionError(s, `"${text}" is not a port (8080, 7777/udp, 8000-8010/tcp)`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  return Array.from({ length: last - first + 1 }, (_, k) => `${first + k}/${proto}`);
}

/** Exec form as written; shell form through the image's SHELL (`/bin/sh -c`). */
function command(s: Stage): string[] {
  return s.instruction.json ?? [...(s.config.Shell ?? ['/bin/sh', '-c']), s.instruction.args];
}

const HEALTHCHECK_FLAGS: Record<string, keyof Healthcheck> = {
  interval: 'Interval',
  timeout: 'Timeout',
  'start-period': 'StartPeriod',
  'start-interval': 'StartInterval',
  retries: 'Retries',
};

function healthcheck(s: Stage): Healthcheck {
  const { args, flags } = s.instruction;
  const kind = /^(\S+)\s*([\s\S]*)$/.exec(args);
  if (kind?.[1].toUpperCase() === 'NONE') return { Test: ['NONE'] };
  if (kind?.[1].toUpperCase() !== 'CMD' || !kind[2])
    throw instructionError(s, `HEALTHCHECK ${args}: expected HEALTHCHECK [options] CMD <command>, or HEALTHCHECK NONE`);
  const rest = kind[2].trim();
  const exec = /^\[[\s\S]*\]$/.test(rest) ? (jsonStrings(rest) ?? null) : undefined;
  if (exec === null) throw instructionError(s, `HEALTHCHECK CMD ${rest}: not a JSON array of strings`);
  const check: Healthcheck = { Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', rest] };
  for (const [flag, value] of Object.entries(flags)) {
    const field = HEALTHCHECK_FLAGS[flag];
    if (!field) throw instructionError(s, `HEALTHCHECK --${flag}: not an option (${Object.keys(HEALTHCHECK_FLAGS).join(', ')})`);
    if (value === true) throw instructionError(s, `HEALTHCHECK --${flag} needs a value`);
    const number = field === 'Retries' ? (/^\d+$/.test(value) ? Number(value) : NaN) : goDuration(value);
    if (Number.isNaN(number))
      throw instructionError(
        s,
        `HEALTHCHECK --${flag}=${value}: not ${field === 'Retries' ? 'a count' : 'a duration (30s, 1m30s, 500ms)'}`,
      );
    if (number > 0) check[field] = number as never;
  }
  return check;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds; NaN when it is not one. */
function goDuration(text: string): number {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return text === '0' ? 0 : NaN;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(amount) * DURATION_UNITS[unit];
  return Math.round(total);
}

const COPY_FLAGS = new Set(['chmod', 'chown', 'link', 'from']);
const ROOT_OWNERS = new Set(['0', '0:0', 'root', 'root:root']);

function copyStep(s: Stage): CopyStep {
  const { flags, json } = s.instruction;
  for (const flag of Object.keys(flags))
    if (!COPY_FLAGS.has(flag)) throw instructionError(s, `COPY --${flag}: not an option this build reads (--chmod, --chown=0:0, --link)`);
  if (flags.chown !== undefined && !ROOT_OWNERS.has(String(flags.chown)))
    throw instructionError(
      s,
      `COPY --chown=${flags.chown}: every file of the image's layers is owned by 0:0`,
      'keep the files root-owned and read-only; set the user the server runs as with USER',
    );
  let chmod: number | undefined;
  if (flags.chmod !== undefined) {
    if (flags.chmod === true || !/^[0-7]{3,4}$/.test(flags.chmod))
      throw instructionError(s, `COPY --chmod=${flags.chmod}: not an octal mode (0755)`);
    chmod = parseInt(flags.chmod, 8);
  }
  const all = json ?? words(s);
  if (all.length < 2) throw instructionError(s, 'COPY needs a source and a destination');
  const sources = all.slice(0, -1);
  let destination = all[all.length - 1];
  if (!destination.startsWith('/')) {
    const folder = destination.endsWith('/') || destination === '.';
    destination = posix.join(s.config.WorkingDir || '/', destination) + (folder && !destination.endsWith('/') ? '/' : '');
  }
  return { line: s.instruction.line, sources, destination, chmod };
}
