import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/stores/keys.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { userStateStoreContract } from '../contract/user-state-store.contract.js';
import { servers, unique } from '../support/servers.js';

userStateStoreContract('Redis', async () =>
  createRedisUserStateStore({ redis: connectRedis(servers().REDIS_URL, 2000), keyPrefix: `${unique('test')}:` }),
);

describe('Redis user state store on a real server', () => {
  let probe: Redis;
  beforeAll(() => {
    probe = new Redis(servers().REDIS_URL);
  });
  afterAll(() => probe.quit());

  it('runs its version check as the Lua script from the .lua file, cached by SHA', async () => {
    const prefix = `${unique('lua')}:`;
    const store = createRedisUserStateStore({ redis: connectRedis(servers().REDIS_URL, 2000), keyPrefix: prefix });
    const scriptCalls = async () => (await commandCalls(probe, 'evalsha')) + (await commandCalls(probe, 'eval'));
    const before = await scriptCalls();
    await store.putIfNewer('u1', { version: 1, scoreSum: 1, scoreRefTime: 1, vip: false, updatedAt: 1 });
    await store.putIfNewer('u1', { version: 2, scoreSum: 2, scoreRefTime: 2, vip: true, updatedAt: 2 });
    // EVAL once where this connection has not loaded the script yet, EVALSHA after.
    expect(await scriptCalls()).toBeGreaterThanOrEqual(before + 2);
    expect(await probe.hgetall(redisKeys(prefix).userState('u1'))).toEqual({
      version: '2', scoreSum: '2', scoreRefTime: '2', vip: '1', updatedAt: '2',
    });
    await store.close();
  });

  it('puts all of a user’s keys in one cluster hash slot', () => {
    expect(redisKeys('p:').userState('42')).toMatch(/\{u:42\}/);
  });
});

async function commandCalls(redis: Redis, command: string): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
}
