/**
 * A Redis Cluster (6 nodes: 3 masters, 3 replicas) or a 3-broker Kafka of
 * one test file's own, started by scripts/services.sh (`up redis-cluster`,
 * `up kafka-cluster`) on free loopback ports and in a run directory of its
 * own, and stopped by it again.
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
    // Below Linux's ephemeral range (32768+): a port there can be taken by any outgoing connection between this check and the bind.
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((p) => avoid.includes(p))) continue;
    let free = true;
    for (const p of ports) if (!(free = await portFree(p))) break;
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** Runs `up NAME` with the given port variables in a fresh run dir; `stop` runs `down NAME` and removes the dir. */
async function startCluster(name: 'redis-cluster' | 'kafka-cluster', ports: Record<string, number>, timeoutMs: number): Promise<{ startMs: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `uas-${name}-`));
  const env = { ...process.env, UAS_RUN_DIR: dir, DO_NOT_TRACK: '1', ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  const services = (...args: string[]) => run('bash', [SCRIPT, ...args], { env, timeout: timeoutMs });
  const stop = async () => {
    await services('down', name);
    rmSync(dir, { recursive: true, force: true });
  };
  const started = Date.now();
  try {
    await services('up', name);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { startMs: Date.now() - started, stop };
}

export async function startPrivateRedisCluster(): Promise<PrivateRedisCluster> {
  const base = await freeBlock(NODES);
  const bus = await freeBlock(NODES, Array.from({ length: NODES }, (_, i) => base + i));
  const started = await startCluster('redis-cluster', { UAS_CLUSTER_REDIS_PORT: base, UAS_CLUSTER_REDIS_BUS_PORT: bus }, 90_000);
  const ports = Array.from({ length: NODES }, (_, i) => base + i);
  return { nodes: ports.map((p) => `127.0.0.1:${p}`), ports, startMs: started.startMs, stop: () => started.stop() };
}

export interface PrivateKafkaCluster {
  /** The three brokers' `127.0.0.1:port`, as KAFKA_BROKERS takes them. */
  readonly brokers: readonly string[];
  /** How long `up kafka-cluster` took, in ms. */
  readonly startMs: number;
  stop(): Promise<void>;
}

/** Three KRaft brokers (node ids 1-3), replication factor 3 by default, min.insync.replicas 2. */
export async function startPrivateKafkaCluster(): Promise<PrivateKafkaCluster> {
  const base = await freeBlock(3);
  const controllers = await freeBlock(3, [base, base + 1, base + 2]);
  const started = await startCluster('kafka-cluster', { UAS_CLUSTER_KAFKA_PORT: base, UAS_CLUSTER_KAFKA_CONTROLLER_PORT: controllers }, 240_000);
  return { brokers: [0, 1, 2].map((i) => `127.0.0.1:${base + i}`), startMs: started.startMs, stop: () => started.stop() };
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
