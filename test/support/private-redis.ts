/**
 * A redis-server of one test's own, on a free loopback port, so a fault test
 * can stop or freeze it without touching the servers other tests share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { waitFor } from './wait-for.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface PrivateRedis {
  readonly url: string;
  /** The running server process (a new one after `restartEmpty`). */
  readonly process: ChildProcess;
  /** kill -9, then a new server on the same port, empty (no persistence), once it answers. */
  restartEmpty(): Promise<void>;
  /** `SHUTDOWN NOSAVE`, as an operator would: the server is gone until `start`. */
  shutdown(): Promise<void>;
  /** A new server on the same port, empty, once it answers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function serve(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // refused until the server listens: that is what we poll for
  await waitFor(async () => probe.connect().then(() => probe.ping().then((r) => r === 'PONG'), () => false), { timeoutMs: 10_000, what: 'private redis-server' });
  probe.disconnect();
  return child;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child = await serve(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    get process() {
      return child;
    },
    async restartEmpty() {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      child = await serve(port);
    },
    async shutdown() {
      const admin = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on('error', () => undefined);
      await admin.call('SHUTDOWN', 'NOSAVE').catch(() => undefined); // the connection closes as the server exits
      admin.disconnect();
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
    async start() {
      child = await serve(port);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Lua script calls (EVAL and EVALSHA) the server has run since it started. */
export async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  const calls = (c: string) => Number(new RegExp(`^cmdstat_${c}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return calls('eval') + calls('evalsha');
}

/**
 * A private redis-server for the enclosing describe block, with a probe
 * client on it: counts taken there see no other test's commands.
 */
export function privateRedisPerSuite(): { readonly url: string; readonly probe: Redis } {
  let server: PrivateRedis | undefined;
  let probe: Redis | undefined;
  beforeAll(async () => {
    server = await startPrivateRedis();
    probe = new Redis(server.url);
  });
  afterAll(async () => {
    await probe?.quit();
    await server?.stop();
  });
  return {
    get url() {
      return server!.url;
    },
    get probe() {
      return probe!;
    },
  };
}
