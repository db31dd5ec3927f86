/**
 * `npm run dev -- --supergraph`: the example legacy users subgraph
 * (127.0.0.1:4002) and Hive Gateway (`npm run gateway`, 127.0.0.1:4000) as
 * child processes beside the embedded service, so that the supergraph
 * frontends query can be tried on one machine. Development only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TELEMETRY_OFF = { APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };

export interface LocalSupergraph {
  /** The gateway's GraphQL endpoint. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Runs `script` with tsx; resolves once its output matches `ready`, rejects if it exits first. */
function child(script: string, args: readonly string[], ready: RegExp): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env: { ...process.env, ...TELEMETRY_OFF }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      out += chunk.toString();
      if (ready.test(out)) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = once(proc, 'exit');
  proc.kill('SIGTERM');
  await gone;
}

export async function startLocalSupergraph(activityUrl: string): Promise<LocalSupergraph> {
  const users = await child('examples/legacy-users/server.ts', ['4002'], /legacy users subgraph: /);
  try {
    const gateway = await child('scripts/gateway.ts', ['--activity', activityUrl, '--users', 'http://127.0.0.1:4002/graphql'], /Listening on http:\/\/127\.0\.0\.1:4000/);
    return { url: 'http://127.0.0.1:4000/graphql', stop: async () => void (await Promise.all([stopChild(gateway), stopChild(users)])) };
  } catch (error) {
    await stopChild(users);
    throw error;
  }
}
