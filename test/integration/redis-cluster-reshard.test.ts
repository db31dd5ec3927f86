/**
 * A slot moves from one master to another, key by key, while batches of
 * events are written to the users in it and to others: the client follows
 * the ASK, TRYAGAIN and MOVED answers (the store retries a failed batch, as
 * the processor does), and every user ends in the reference model's state.
 */
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/features/activity.js';
import { redisKeys } from '../../src/stores/keys.js';
import { connectRedis } from '../../src/stores/redis-connection.js';
import { createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { CONTRACT_PARAMS } from '../contract/user-state-store.contract.js';
import { arrive, ARRIVAL, expectSameState, modelRun, T0 } from '../support/events.js';
import { privateRedisClusterPerFile } from '../support/private-cluster.js';
import { unique } from '../support/servers.js';

const cluster = privateRedisClusterPerFile();
const TYPES = ['VIEW', 'CLICK', 'ADD_TO_CART', 'PURCHASE'] as const;

/** `CLUSTER NODES` of one node: id, port, flags and slot ranges of every master. */
async function masters(node: Redis): Promise<{ id: string; port: number; slots: string[] }[]> {
  const lines = ((await node.cluster('NODES')) as string).trim().split('\n');
  return lines
    .map((l) => l.split(' '))
    .filter((f) => f[2]!.split(',').includes('master') && !f[2]!.includes('fail'))
    .map((f) => ({ id: f[0]!, port: Number(f[1]!.split(':')[1]!.split('@')[0]), slots: f.slice(8) }));
}

const owns = (slots: readonly string[], slot: number) =>
  slots.some((r) => {
    const [from, to = from] = r.split('-').map(Number);
    return from! <= slot && slot <= to!;
  });

/** Counters from `INFO errorstats`: how often this node answered MOVED, ASK or TRYAGAIN. */
async function redirections(node: Redis): Promise<Record<string, number>> {
  const info = await node.info('errorstats');
  return Object.fromEntries([...info.matchAll(/errorstat_(MOVED|ASK|TRYAGAIN):count=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

it('loses nothing and counts nothing twice while a slot of busy users moves to another master', async () => {
  const prefix = `${unique('reshard')}:`;
  const keys = redisKeys(prefix);
  const slotOfUser = (u: string) => calculateSlot(keys.user(u).state);
  // 12 users in one slot (the one that moves) and 24 spread over the others.
  const slot = slotOfUser('m0');
  const candidates = Array.from({ length: 200_000 }, (_, i) => `m${i}`);
  const moving = candidates.filter((u) => slotOfUser(u) === slot).slice(0, 12);
  const others = Array.from({ length: 24 }, (_, i) => `o${i}`).filter((u) => slotOfUser(u) !== slot);
  expect(moving).toHaveLength(12);
  const users = [...moving, ...others];

  const nodes = new Map(cluster.ports.map((p) => [p, new Redis(p, '127.0.0.1')]));
  const view = await masters(nodes.get(cluster.ports[0]!)!);
  const source = view.find((m) => owns(m.slots, slot))!;
  const target = view.find((m) => m !== source && m.slots.length > 0)!;
  const from = nodes.get(source.port)!;
  const to = nodes.get(target.port)!;
  const before = await redirections(from);

  const store = createRedisUserStateStore({ redis: connectRedis({ url: '', clusterNodes: cluster.nodes, commandTimeoutMs: 2000 }), keyPrefix: prefix, params: CONTRACT_PARAMS });
  const batches: ActivityEvent[][] = [];
  let failedTries = 0;
  let movedAfter = Number.POSITIVE_INFINITY; // the round at which the slot was handed over
  const writeRound = async (round: number) => {
    const events = users.map((userId, i): ActivityEvent => ({
      eventId: `r${round}-${userId}`,
      userId,
      type: TYPES[(round + i) % TYPES.length]!,
      itemId: `i${(round * 7 + i) % 23}`,
      category: `c${(round + i) % 5}`,
      occurredAt: T0 + round * 60_000 + i,
    }));
    batches.push(events);
    const byUser = new Map(users.map((u, i) => [u, arrive([events[i]!])]));
    // A failed batch is tried again whole, as the processor does: the events it already applied are known by their ids.
    for (let attempt = 1; ; attempt++) {
      try {
        await store.applyEvents(byUser, ARRIVAL);
        return;
      } catch (error) {
        failedTries++;
        if (attempt >= 20) throw error;
      }
    }
  };

  // The writer runs until the slot has moved and three more rounds went through the new owner.
  let rounds = 0;
  const writer = (async () => {
    while (rounds < movedAfter + 3) await writeRound(rounds++);
  })();

  // Move the slot as redis-cli --cluster reshard does: mark both ends, migrate the keys one at a time, hand it over.
  await writeRound(rounds++); // the users' keys exist before the move starts
  await to.cluster('SETSLOT', slot, 'IMPORTING', source.id);
  await from.cluster('SETSLOT', slot, 'MIGRATING', target.id);
  let migrated = 0;
  for (;;) {
    const batch = await from.cluster('GETKEYSINSLOT', slot, 1);
    if (batch.length === 0) break;
    await from.migrate('127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...batch);
    migrated += batch.length;
  }
  await to.cluster('SETSLOT', slot, 'NODE', target.id);
  await from.cluster('SETSLOT', slot, 'NODE', target.id);
  for (const m of view) if (m !== source && m !== target) await nodes.get(m.port)!.cluster('SETSLOT', slot, 'NODE', target.id);
  movedAfter = rounds;
  await writer;

  expect(migrated).toBeGreaterThanOrEqual(moving.length * 2); // several keys per user went across
  expect(owns((await masters(to)).find((m) => m.id === target.id)!.slots, slot)).toBe(true);
  // The source turned writes away while the slot moved (ASK, or TRYAGAIN for a user split across both ends)
  // and after (MOVED), and the client followed.
  const after = await redirections(from);
  const answered = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  expect(answered('ASK') + answered('TRYAGAIN')).toBeGreaterThan(0);
  expect(answered('MOVED')).toBeGreaterThan(0);
  expect(rounds).toBeGreaterThanOrEqual(movedAfter + 3);

  const expected = modelRun(batches.map((b) => arrive(b)), CONTRACT_PARAMS, ARRIVAL);
  const states = await store.loadMany(users);
  // Nothing lost, nothing counted twice: every user's state is the model's over all rounds.
  users.forEach((u, i) => expectSameState(states[i], expected.get(u)!.state, 1e-9, { bookkeeping: false }));
  console.info(`[reshard] slot ${slot}: ${migrated} keys moved ${source.port} -> ${target.port} during ${rounds} rounds; failed tries ${failedTries}; source answered ${JSON.stringify({ ASK: answered('ASK'), TRYAGAIN: answered('TRYAGAIN'), MOVED: answered('MOVED') })}`);
  await store.close();
  for (const n of nodes.values()) n.disconnect();
}, 120_000);
