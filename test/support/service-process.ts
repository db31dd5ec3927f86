/**
 * The service as a child process, the way a user starts it (`npm run dev`, or
 * `node --import tsx src/main.ts`): its own process group, so that a stop
 * ends npm and everything it started; output kept for assertions and errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What every process the project starts gets, and nothing of this process's server URLs. */
export const CLEAN_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The first match of `pattern` in the output, awaited; fails early if the process exits. */
  printed(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function startServiceProcess(command: string, args: readonly string[], env: Record<string, string>): ServiceProcess {
  const child = spawn(command, args, { cwd: ROOT, env: { ...CLEAN_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let exit: string | undefined;
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  child.once('exit', (code, signal) => (exit = `exited with ${code ?? signal}`));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  return {
    child,
    output: () => out,
    async printed(pattern, timeoutMs = 60_000) {
      let match: RegExpExecArray | null = null;
      await waitFor(
        () => {
          if ((match = pattern.exec(out))) return true;
          if (exit) throw new Error(`the service ${exit} before printing ${pattern}:\n${out.slice(-4000)}`);
          return false;
        },
        { timeoutMs, intervalMs: 50, what: `the service to print ${pattern}` },
      );
      return match!;
    },
    async stop(graceMs = 10_000) {
      if (exit) return;
      const gone = once(child, 'exit');
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
      // npm's children may outlive npm itself by a moment.
      signalGroup('SIGKILL');
    },
  };
}
