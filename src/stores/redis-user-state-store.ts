import { Redis } from 'ioredis';
import { redisKeys } from './keys.js';
import { defineScripts } from './lua/index.js';
import type { UserState, UserStateStore } from './user-state.js';

export interface RedisUserStateStoreOptions {
  /** A connected client; the store takes ownership and quits it on close. */
  readonly redis: Redis;
  readonly keyPrefix: string;
}

const encode = (s: UserState): (string | number)[] => [
  'scoreSum', s.scoreSum,
  'scoreRefTime', s.scoreRefTime,
  'vip', s.vip ? 1 : 0,
  'updatedAt', s.updatedAt,
];

function decode(fields: Record<string, string>): UserState | undefined {
  if (fields.version === undefined) return undefined;
  return {
    version: Number(fields.version),
    scoreSum: Number(fields.scoreSum ?? 0),
    scoreRefTime: Number(fields.scoreRefTime ?? 0),
    vip: fields.vip === '1',
    updatedAt: Number(fields.updatedAt ?? 0),
  };
}

/** The user state in Redis hashes; `loadMany` is one pipelined round trip. */
export function createRedisUserStateStore(options: RedisUserStateStoreOptions): UserStateStore {
  const redis = defineScripts(options.redis);
  const keys = redisKeys(options.keyPrefix);
  return {
    async loadMany(userIds) {
      if (userIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of userIds) pipeline.hgetall(keys.userState(id));
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([error, fields]) => {
        if (error) throw error;
        return decode(fields as Record<string, string>);
      });
    },
    async putIfNewer(userId, state) {
      return (await redis.putStateIfNewer(keys.userState(userId), state.version, ...encode(state))) === 1;
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** A client with the service's defaults: bounded command time, no offline queue growth. */
export function connectRedis(url: string, commandTimeoutMs: number): Redis {
  return new Redis(url, { commandTimeout: commandTimeoutMs, maxRetriesPerRequest: 2, lazyConnect: false });
}
