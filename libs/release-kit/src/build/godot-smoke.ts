import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandLine, ProcessResult, runProcess } from './engine-process';
import { engineCommand } from './godot';
import { isErrorLine, isHarmless, logErrors } from './godot-log';

/**
 * Starting what an export made: the binary (or the pack, through the engine's `--main-pack`)
 * runs headless with the smoke argument, under which the server boots its subsystems without
 * external services, prints its ready line and quits. The run passes only when the ready line
 * appears, no error does, and the process exits 0 within the time limit.
 */

export interface SmokeTarget {
  major: number;
  /** The engine binary, which runs a pack. */
  engine: string;
  /** Godot 3's headless runtime (Debian's godot3-server), which runs a pack without a display. */
  headlessRuntime?: string;
  /** Absolute path of the exported binary, or of the pack when `pack` is set. */
  artifact: string;
  pack: boolean;
  args: string[];
  /** An X display is there (Godot 3's engine needs one even with --no-window). */
  display: boolean;
}

export function smokeCommand(t: SmokeTarget): CommandLine {
  if (t.pack && t.major < 4 && t.headlessRuntime) return { command: t.headlessRuntime, args: ['--main-pack', t.artifact, ...t.args] };
  if (t.pack) return engineCommand(t.engine, t.major, ['--main-pack', t.artifact, ...t.args], t.display);
  return engineCommand(t.artifact, t.major, t.args, t.display);
}

/** Why a smoke run failed; empty when it passed. */
export function judgeSmoke(output: string, result: ProcessResult, ready: RegExp, timeoutSeconds: number): string[] {
  const problems: string[] = [];
  const readySeen = output.split(/\r?\n/).some((line) => ready.test(line));
  if (result.timedOut)
    problems.push(
      readySeen ? `printed its ready line but did not quit within ${timeoutSeconds} s` : `did not start within ${timeoutSeconds} s`,
    );
  else if (!readySeen) problems.push(`never printed its ready line (${ready.source})`);
  problems.push(...logErrors(output).map((e) => `printed ${e}`));
  if (!result.timedOut && !result.stopped && result.code !== 0) problems.push(`exited with code ${result.code}`);
  return problems;
}

/** After an error line, the process runs this long more (its follow-up lines are the context), then is stopped. */
const ERROR_GRACE_MS = 1500;

export interface SmokeRun {
  command: CommandLine;
  ready: RegExp;
  timeoutSeconds: number;
  /** PATH and DISPLAY are passed on; nothing else of the build's environment (no secrets) is. */
  env: NodeJS.ProcessEnv;
  log: NodeJS.WritableStream;
  /** The folder the server starts in, as a container's WORKDIR: the artifact's. */
  cwd: string;
}

/** Runs the smoke with a throwaway HOME, so that the server's user data goes nowhere that lasts. */
export async function runSmoke(s: SmokeRun): Promise<{ problems: string[]; output: string }> {
  const home = mkdtempSync(join(tmpdir(), 'spacetime-smoke-'));
  let output = '';
  const capture = {
    write(chunk: string | Buffer) {
      output += chunk.toString();
      return s.log.write(chunk);
    },
  } as NodeJS.WritableStream;
  try {
    const env: NodeJS.ProcessEnv = {
      PATH: s.env.PATH,
      HOME: home,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_CACHE_HOME: join(home, 'cache'),
      ...(s.env.DISPLAY ? { DISPLAY: s.env.DISPLAY } : {}),
    };
    for (const dir of ['data', 'config', 'cache']) mkdirSync(join(home, dir));
    const result = await runProcess(s.command, {
      env,
      cwd: s.cwd,
      log: capture,
      timeoutSeconds: s.timeoutSeconds,
      watch: (line) => (isErrorLine(line) && !isHarmless(line) ? ERROR_GRACE_MS : undefined),
    });
    const afterCommand = output.slice(output.indexOf('\n') + 1);
    return { problems: judgeSmoke(afterCommand, result, s.ready, s.timeoutSeconds), output: afterCommand };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
