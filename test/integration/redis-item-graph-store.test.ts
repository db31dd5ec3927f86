import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/stores/keys.js';
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

  it('writes a delta as one single-key script per item and relation, plus one for trending, in one round trip', async () => {
    const prefix = `${unique('graph')}:`;
    const store = open(prefix, redis.url);
    await store.ping();
    const before = await scriptCalls(redis.probe);
    await store.record(delta({ a: { viewed: { b: 1 }, bought: { c: 10 } }, b: { viewed: { a: 1 } } }, { a: 1, b: 1 }));
    expect((await scriptCalls(redis.probe)) - before).toBe(4);
    const k = redisKeys(prefix);
    expect(await redis.probe.zrange(k.item('a').viewed, 0, -1)).toEqual(['b']);
    expect(await redis.probe.zrange(k.item('a').bought, 0, -1)).toEqual(['c']);
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
