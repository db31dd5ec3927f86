/**
 * The Redis stores on a real Redis Cluster (3 masters, 3 replicas): the same
 * contract suites as on one node, and the store layer's rule that every
 * command and every pipeline it sends keeps to one hash slot.
 */
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isRetriable } from '../../src/errors.js';
import { redisKeys } from '../../src/stores/keys.js';
import { connectRedis, CrossSlotError, replicaWaiter, ReplicationTimeoutError } from '../../src/stores/redis-connection.js';
import { replicatedUserStateStore } from '../../src/stores/replicated-stores.js';
import { createRedisItemGraphStore } from '../../src/stores/redis-item-graph-store.js';
import { createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { GRAPH_PARAMS, itemGraphStoreContract } from '../contract/item-graph-store.contract.js';
import { CONTRACT_PARAMS, userStateStoreContract } from '../contract/user-state-store.contract.js';
import { arrive, ARRIVAL } from '../support/events.js';
import { privateRedisClusterPerFile } from '../support/private-cluster.js';
import { unique } from '../support/servers.js';
import { waitFor } from '../support/wait-for.js';

const cluster = privateRedisClusterPerFile();
const client = () => connectRedis({ url: '', clusterNodes: cluster.nodes, commandTimeoutMs: 2000 });

userStateStoreContract('Redis Cluster', async () => createRedisUserStateStore({ redis: client(), keyPrefix: `${unique('test')}:`, params: CONTRACT_PARAMS }));
itemGraphStoreContract('Redis Cluster', async () => createRedisItemGraphStore({ redis: client(), keyPrefix: `${unique('graph')}:`, params: GRAPH_PARAMS }));

/** The master that serves `slot` now, as `CLUSTER SLOTS` tells. */
async function masterOf(probe: Redis, slot: number): Promise<number> {
  const range = (await probe.cluster('SLOTS')).find(([from, to]) => from <= slot && slot <= to);
  if (!range?.[2]) throw new Error(`slot ${slot} is not served`);
  return range[2][1];
}

describe('the store layer on a Redis Cluster', () => {
  it('refuses a command or script whose keys span slots before sending anything, as a bug that no retry fixes', async () => {
    const redis = client();
    const [a, b] = ['{x}a', '{y}b'];
    expect(calculateSlot(a)).not.toBe(calculateSlot(b));
    const lone = await redis.mget(a, b).catch((e: unknown) => e);
    expect(lone).toBeInstanceOf(CrossSlotError);
    expect(isRetriable(lone)).toBe(false);
    const piped = await redis.pipeline().set(a, '1').mget(a, b).exec().catch((e: unknown) => e);
    expect(piped).toBeInstanceOf(CrossSlotError);
    expect((piped as Error).message).toMatch(/mget touches keys in more than one cluster slot: \{x\}a, \{y\}b/);
    // Refused as a whole: the set before it in the pipeline was not sent either.
    expect(await redis.exists(a)).toBe(0);
    redis.disconnect();
  });

  it('sends a pipeline over many slots as one pipeline per slot, on every master, replies in order', async () => {
    const redis = client();
    const prefix = unique('split');
    const keys = Array.from({ length: 60 }, (_, i) => `${prefix}:{k${i}}`);
    const probe = new Redis(cluster.ports[0]!, '127.0.0.1');
    const masters = new Set(await Promise.all(keys.map((k) => masterOf(probe, calculateSlot(k)))));
    probe.disconnect();
    expect(masters.size).toBe(3); // the keys are spread over the three masters
    const writes = redis.pipeline();
    keys.forEach((k, i) => writes.set(k, String(i)).incr(k));
    expect(writes.length).toBe(120);
    const written = await writes.exec();
    expect(written?.map(([e, v]) => [e, v])).toEqual(keys.flatMap((_, i) => [[null, 'OK'], [null, i + 1]]));
    const reads = redis.pipeline();
    for (const k of [...keys].reverse()) reads.get(k);
    expect((await reads.exec())?.map(([, v]) => v)).toEqual(keys.map((_, i) => String(i + 1)).reverse());
    redis.disconnect();
  });

  it('applies a batch of many users, spread over the masters, and reads it back', async () => {
    const prefix = `${unique('batch')}:`;
    const store = createRedisUserStateStore({ redis: client(), keyPrefix: prefix, params: CONTRACT_PARAMS });
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    const slots = new Set(users.map((u) => calculateSlot(redisKeys(prefix).user(u).state)));
    expect(slots.size).toBeGreaterThan(30);
    const byUser = new Map(users.map((u, i) => [u, arrive([{ eventId: `e${i}`, userId: u, type: 'CLICK' as const, itemId: `i${i}`, occurredAt: ARRIVAL - 1000 }])]));
    const results = await store.applyEvents(byUser, ARRIVAL);
    expect([...results.values()].map((r) => r.applied)).toEqual(users.map(() => 1));
    const states = await store.loadMany(users);
    expect(states.map((s) => s?.version)).toEqual(users.map(() => 1));
    expect((await store.dirtyBacklog()).dirty).toBe(40);
    await store.close();
  });

  it('returns a batch write only once a replica holds it (WAIT): with the replicas frozen it fails, retriable, and goes through once they answer', async () => {
    const redis = client();
    const store = replicatedUserStateStore(createRedisUserStateStore({ redis, keyPrefix: `${unique('wait')}:`, params: CONTRACT_PARAMS }), replicaWaiter(redis, { waitReplicas: 1, waitTimeoutMs: 300 }));
    const unwaited = createRedisUserStateStore({ redis: client(), keyPrefix: `${unique('nowait')}:`, params: CONTRACT_PARAMS });
    const batch = (id: string) => new Map([[id, arrive([{ eventId: id, userId: id, type: 'CLICK' as const, itemId: 'i1', occurredAt: ARRIVAL - 1000 }])]]);
    // A fresh cluster's replicas may still be in their first sync, and that holds no write yet.
    await waitFor(() => store.applyEvents(batch('warm'), ARRIVAL).then(() => true, () => false), { timeoutMs: 20_000, what: 'the replicas to acknowledge a write' });
    const pids: number[] = [];
    for (const port of cluster.ports) {
      const node = new Redis(port, '127.0.0.1');
      if (/role:slave/.test(await node.info('replication'))) pids.push(Number(/process_id:(\d+)/.exec(await node.info('server'))![1]));
      node.disconnect();
    }
    expect(pids).toHaveLength(3);
    pids.forEach((pid) => process.kill(pid, 'SIGSTOP'));
    try {
      const failed = await store.applyEvents(batch('frozen'), ARRIVAL).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(ReplicationTimeoutError);
      expect(isRetriable(failed)).toBe(true);
      // Without the wait the same write is acknowledged by the master alone: a failover now would lose it.
      expect((await unwaited.applyEvents(batch('frozen'), ARRIVAL)).get('frozen')?.applied).toBe(1);
    } finally {
      pids.forEach((pid) => process.kill(pid, 'SIGCONT'));
    }
    // A thawed replica first works off what it missed: "once they answer" is once each one has
    // acknowledged its master's whole stream again (its reported offset has caught up).
    const nodes = cluster.ports.map((port) => new Redis(port, '127.0.0.1'));
    const caughtUp = async (node: Redis) => {
      const info = await node.info('replication');
      if (!/role:master/.test(info)) return true;
      const end = Number(/master_repl_offset:(\d+)/.exec(info)![1]);
      const acked = [...info.matchAll(/slave\d+:[^\r\n]*offset=(\d+)/g)].map((m) => Number(m[1]));
      return acked.length > 0 && acked.every((offset) => offset >= end);
    };
    try {
      await waitFor(async () => (await Promise.all(nodes.map(caughtUp))).every(Boolean), { timeoutMs: 20_000, what: 'the thawed replicas to catch up' });
    } finally {
      nodes.forEach((node) => node.disconnect());
    }
    expect((await store.applyEvents(batch('thawed'), ARRIVAL)).get('thawed')?.applied).toBe(1);
    await Promise.all([store.close(), unwaited.close()]);
  });
});
