import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { redisKeys, userKeyList } from '../../src/stores/keys.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { CONTRACT_PARAMS, userStateStoreContract } from '../contract/user-state-store.contract.js';
import { privateRedisPerSuite, scriptCalls } from '../support/private-redis.js';
import { servers, unique } from '../support/servers.js';
import { delivered } from '../support/events.js';

const open = (keyPrefix = `${unique('test')}:`, url = servers().REDIS_URL) =>
  createRedisUserStateStore({ redis: connectRedis(url, 2000), keyPrefix, params: CONTRACT_PARAMS });

userStateStoreContract('Redis', async () => open());

describe('Redis user state store on a real server', () => {
  // A server of its own, so no other test's scripts land in the command counts.
  const redis = privateRedisPerSuite();

  it('applies a batch of many users in one round trip of Lua scripts loaded from .lua files', async () => {
    const prefix = `${unique('lua')}:`;
    const store = open(prefix, redis.url);
    await store.ping();
    const events = Array.from({ length: 50 }, (_, i) => ({
      eventId: `e${i}`, userId: `u${i % 10}`, type: 'CLICK' as const, itemId: `i${i}`, occurredAt: 1_800_000_000_000 + i,
    }));
    const before = await scriptCalls(redis.probe);
    await store.applyEvents(delivered(events, 1_800_000_001_000), 1_800_000_001_000);
    // One script call per user (EVALSHA, or EVAL once to load it), and one that marks them all dirty.
    expect((await scriptCalls(redis.probe)) - before).toBe(11);
    expect(await redis.probe.zcard(redisKeys(prefix).sync.dirty)).toBe(10);
    expect(await redis.probe.hget(redisKeys(prefix).user('u3').state, 'version')).toBe('1');
    await store.close();
  });

  it('keeps each user’s keys in one cluster hash slot, and users apart', () => {
    const keys = redisKeys('p:');
    const slots = (id: string) => new Set(userKeyList(keys.user(id)).map((key) => calculateSlot(key)));
    expect(slots('42').size).toBe(1);
    expect(slots('user:with:colons').size).toBe(1);
    expect([...slots('42')][0]).not.toBe([...slots('43')][0]);
  });
});
