import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { redisKeys, userKeyList } from '../../src/stores/keys.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { CONTRACT_PARAMS, userStateStoreContract } from '../contract/user-state-store.contract.js';
import { privateRedisPerSuite, scriptCalls } from '../support/private-redis.js';
import { servers, unique } from '../support/servers.js';
import { delivered } from '../support/events.js';
import { idDigest, packLegacySeen, SEEN_RECORD_BYTES, unpackSeen } from '../../src/contracts/seen-ids.js';

const open = (keyPrefix = `${unique('test')}:`, url = servers().REDIS_URL, params = CONTRACT_PARAMS) =>
  createRedisUserStateStore({ redis: connectRedis(url, 2000), keyPrefix, params });

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

  it('remembers an event id in 16 bytes, and packs a sorted set left by the older form in place', async () => {
    const prefix = `${unique('seen')}:`;
    const store = open(prefix, redis.url, { ...CONTRACT_PARAMS, maxSeenIds: 2000 });
    const keys = redisKeys(prefix).user('old');
    const at = 1_800_000_000_000;
    // The older form: eventId → arrival (ms), as versions before the packed form wrote it.
    const legacy: [string, number][] = [['x-2', at + 1500], ['x-1', at + 1500], ['x-0', at - 400]];
    await redis.probe.zadd(keys.legacySeen, ...legacy.flatMap(([id, ms]) => [ms, id]));
    await redis.probe.hset(keys.state, 'version', '3');
    const [exported] = await store.exportMany(['old']);
    expect(exported!.seen).toBe(packLegacySeen(legacy).toString('base64'));

    const events = (ids: string[]) => ids.map((eventId) => ({ eventId, userId: 'old', type: 'CLICK' as const, itemId: 'i', occurredAt: at }));
    const result = await store.applyEvents(delivered(events(['x-1', 'n-1', 'x-0', 'n-2']), at + 5000), at + 5000);
    expect(result.get('old')).toMatchObject({ applied: 2, resent: 2 });
    expect(await redis.probe.exists(keys.legacySeen)).toBe(0);
    // What the script packed is byte for byte what Node packs, followed by the new ids.
    const packed = await redis.probe.getBuffer(keys.seen);
    expect(packed!.length).toBe(5 * SEEN_RECORD_BYTES);
    expect(packed!.subarray(0, 3 * SEEN_RECORD_BYTES).equals(packLegacySeen(legacy))).toBe(true);
    expect(unpackSeen(packed!.subarray(3 * SEEN_RECORD_BYTES))).toEqual([
      { digest: idDigest('n-1'), at: 1_800_000_005 },
      { digest: idDigest('n-2'), at: 1_800_000_005 },
    ]);
    // 1,000 more ids (under the cap of 2,000): the memory grows by 16 bytes each, whatever the ids' length.
    const many = Array.from({ length: 1000 }, (_, i) => `a-rather-long-event-id-of-some-client-${i}`);
    await store.applyEvents(delivered(events(many), at + 6000), at + 6000);
    expect(await redis.probe.strlen(keys.seen)).toBe(1005 * SEEN_RECORD_BYTES);
    expect((await store.applyEvents(delivered(events(many.slice(0, 10)), at + 7000), at + 7000)).get('old')).toMatchObject({ applied: 0, resent: 10 });
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
