/**
 * A Kafka broker or MongoDB-protocol server of one test's own: the same one
 * scripts/services.sh runs, on free loopback ports and in a run directory of
 * its own, so a fault test can kill, freeze or restart it without touching
 * the servers other tests share.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './private-redis.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

export interface PrivateServer {
  /** `host:port` for Kafka, a `mongodb://` URL for MongoDB. */
  readonly address: string;
  /** The server's process id now (a new one after `restart`). */
  readonly pid: number;
  /** `kill -9`: no shutdown, no flush. */
  kill9(): void;
  /** Starts it again on the same ports with the data it had, once it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether `pid` still runs (a zombie, dead but not yet reaped, does not: it holds no port or lock). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

export async function startPrivateServer(name: 'kafka' | 'mongo'): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), `uas-${name}-`));
  const ports = name === 'kafka' ? { UAS_KAFKA_PORT: await freePort(), UAS_KAFKA_CONTROLLER_PORT: await freePort() } : { UAS_MONGO_PORT: await freePort() };
  const env = { ...process.env, UAS_RUN_DIR: dir, DO_NOT_TRACK: '1', ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  const services = (...args: string[]) => run('bash', [SCRIPT, ...args], { env, timeout: 180_000 });
  const pidNow = () => Number(readFileSync(join(dir, name, 'pid'), 'utf8'));
  await services('up', name);
  let pid = pidNow();
  return {
    address: name === 'kafka' ? `127.0.0.1:${ports.UAS_KAFKA_PORT}` : `mongodb://127.0.0.1:${ports.UAS_MONGO_PORT}`,
    get pid() {
      return pid;
    },
    kill9() {
      process.kill(pid, 'SIGKILL');
    },
    async restart() {
      // A JVM killed a moment ago may still hold its ports and its data directory's lock.
      await waitFor(() => !alive(pid), { timeoutMs: 30_000, what: `the killed ${name} (pid ${pid}) to be gone` });
      await services('up', name, '--keep-data');
      pid = pidNow();
    },
    async stop() {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
      await services('down', name);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
