/**
 * A Redis Cluster of one test file's own (6 nodes: 3 masters, 3 replicas),
 * started by scripts/services.sh (`up redis-cluster`) on free loopback ports
 * and in a run directory of its own, and stopped by it again.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const NODES = 6;

export interface PrivateRedisCluster {
  /** Every node's `127.0.0.1:port`, as REDIS_CLUSTER_NODES takes them. */
  readonly nodes: readonly string[];
  readonly ports: readonly number[];
  /** How long `up redis-cluster` took, in ms. */
  readonly startMs: number;
  stop(): Promise<void>;
}

const portFree = async (port: number): Promise<boolean> => {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
  } catch {
    return false;
  }
  server.close();
  await once(server, 'close');
  return true;
};

/** `count` consecutive free ports from a random base, apart from `avoid`. */
async function freeBlock(count: number, avoid: readonly number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((p) => avoid.includes(p))) continue;
    let free = true;
    for (const p of ports) if (!(free = await portFree(p))) break;
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export async function startPrivateRedisCluster(): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'uas-cluster-'));
  const base = await freeBlock(NODES);
  const bus = await freeBlock(NODES, Array.from({ length: NODES }, (_, i) => base + i));
  const env = { ...process.env, UAS_RUN_DIR: dir, DO_NOT_TRACK: '1', UAS_CLUSTER_REDIS_PORT: String(base), UAS_CLUSTER_REDIS_BUS_PORT: String(bus) };
  const services = (...args: string[]) => run('bash', [SCRIPT, ...args], { env, timeout: 90_000 });
  const started = Date.now();
  try {
    await services('up', 'redis-cluster');
  } catch (error) {
    await services('down', 'redis-cluster').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const startMs = Date.now() - started;
  const ports = Array.from({ length: NODES }, (_, i) => base + i);
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`),
    ports,
    startMs,
    async stop() {
      await services('down', 'redis-cluster');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A cluster for the file's tests: started before the first, stopped after the last. */
export function privateRedisClusterPerFile(): PrivateRedisCluster {
  let cluster: PrivateRedisCluster | undefined;
  beforeAll(async () => {
    cluster = await startPrivateRedisCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);
  const get = (): PrivateRedisCluster => {
    if (!cluster) throw new Error('the Redis Cluster is not started yet');
    return cluster;
  };
  return {
    get nodes() {
      return get().nodes;
    },
    get ports() {
      return get().ports;
    },
    get startMs() {
      return get().startMs;
    },
    stop: () => get().stop(),
  };
}
