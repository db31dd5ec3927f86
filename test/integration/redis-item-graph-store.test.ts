import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/stores/keys.js';
import { createMemoryItemGraphStore } from '../../src/stores/memory-item-graph-store.js';
import { createRedisItemGraphStore } from '../../src/stores/redis-item-graph-store.js';
import { connectRedis } from '../../src/stores/redis-user-state-store.js';
import { delta, GRAPH_PARAMS, itemGraphStoreContract } from '../contract/item-graph-store.contract.js';
import { privateRedisPerSuite, scriptCalls } from '../support/private-redis.js';
import { servers, unique } from '../support/servers.js';

const open = (keyPrefix = `${unique('graph')}:`, url = servers().REDIS_URL) =>
  createRedisItemGraphStore({ redis: connectRedis(url, 2000), keyPrefix, params: GRAPH_PARAMS });

itemGraphStoreContract('Redis', async () => open());

describe('Redis item graph on a real server', () => {
  // A server of its own, so no other test's scripts land in the command counts.
  const redis = privateRedisPerSuite();

  it('writes a delta as one single-slot script per item (both relations), plus one for trending, in one round trip', async () => {
    const prefix = `${unique('graph')}:`;
    const store = open(prefix, redis.url);
    await store.ping();
    const before = await scriptCalls(redis.probe);
    await store.record(delta({ a: { viewed: { b: 1 }, bought: { c: 10 } }, b: { viewed: { a: 1 } } }, { a: 1, b: 1 }));
    expect((await scriptCalls(redis.probe)) - before).toBe(3);
    const k = redisKeys(prefix);
    expect(await redis.probe.zrange(k.item('a').viewed, 0, -1)).toEqual(['b']);
    expect(await redis.probe.zrange(k.item('a').bought, 0, -1)).toEqual(['c']);
    await store.close();
  });

  it('keeps exactly the lists the in-process twin keeps, ties at the cut included, when a delta brings more than M', async () => {
    const store = open(`${unique('graph')}:`, redis.url);
    const twin = createMemoryItemGraphStore(GRAPH_PARAMS);
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'é', 'z', 'Z', '10', '9'];
    const keys = (['x', 'y'] as const).flatMap((itemId) => (['viewed', 'bought'] as const).map((relation) => ({ itemId, relation })));
    for (let round = 0; round < 30; round++) {
      const pick = () => Object.fromEntries(ids.filter(() => next() < 0.6).map((id) => [id, 1 + Math.floor(next() * 3)]));
      const d = delta({ x: { viewed: pick(), bought: pick() }, y: { viewed: pick() } });
      await store.record(d);
      await twin.record(d);
      expect((await store.read(keys, 0, 0)).lists).toEqual((await twin.read(keys, 0, 0)).lists);
    }
    await store.close();
  });

  it('keeps each item’s lists in one hash slot, items apart, and trending in a slot of its own', () => {
    const k = redisKeys('p:');
    const item = (id: string) => new Set([k.item(id).viewed, k.item(id).bought].map((key) => calculateSlot(key)));
    expect(item('sku-1').size).toBe(1);
    expect([...item('sku-1')][0]).not.toBe([...item('sku-2')][0]);
    expect(calculateSlot(k.trending.items)).toBe(calculateSlot(k.trending.epoch));
  });
});
