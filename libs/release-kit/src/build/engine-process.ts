import { spawn } from 'node:child_process';
import { ReleaseError } from '../support/errors';

export interface CommandLine {
  command: string;
  args: string[];
}

/** A command line as a shell would read it, for logs. */
export function commandText(command: CommandLine): string {
  return [command.command, ...command.args].map((a) => (/^[\w./:=@+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export interface ProcessRun {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Receives the command line, then everything the process prints. */
  log: NodeJS.WritableStream;
  timeoutSeconds: number;
  /** Sees each complete output line; returning a delay in ms stops the process that long after. */
  watch?: (line: string) => number | undefined;
}

export interface ProcessResult {
  /** The exit code; 128 + n after signal n. */
  code: number;
  timedOut: boolean;
  /** Stopped because `watch` asked for it. */
  stopped: boolean;
}

/**
 * Runs a command in its own process group, appending its output to the log. At the time limit
 * (or when `watch` asks) the whole group is killed, so that no child outlives it.
 */
export function runProcess(command: CommandLine, o: ProcessRun): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    o.log.write(`$ ${commandText(command)}\n`);
    const child = spawn(command.command, command.args, { env: o.env, cwd: o.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    let stopped = false;
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutSeconds * 1000);
    let stopTimer: NodeJS.Timeout | undefined;
    const partial = { stdout: '', stderr: '' };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name].on('data', (chunk: Buffer) => {
        o.log.write(chunk);
        if (!o.watch) return;
        const lines = (partial[name] + chunk.toString('utf8')).split('\n');
        partial[name] = lines.pop() ?? '';
        for (const line of lines) {
          const delay = o.watch(line);
          if (delay !== undefined && !stopTimer) {
            stopTimer = setTimeout(() => {
              stopped = true;
              kill();
            }, delay);
          }
        }
      });
    }
    child.on('error', (e) => {
      clearTimeout(timer);
      clearTimeout(stopTimer);
      reject(
        new ReleaseError(`cannot run ${command.command}: ${e.message}`, {
          hint: command.command === 'xvfb-run' ? 'install xvfb (Debian: apt-get install xvfb xauth) or set DISPLAY' : undefined,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(stopTimer);
      const signalNumber = signal ? (({ SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 } as Record<string, number>)[signal] ?? 0) : 0;
      resolve({ code: code ?? 128 + signalNumber, timedOut, stopped });
    });
  });
}
