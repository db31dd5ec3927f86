/**
 * The item graph in Redis: one sorted set per item and relation, trimmed to
 * the M strongest by a script over that one key, and one trending sorted set.
 * A batch's delta is one pipeline (one round trip) of single-slot scripts,
 * so it runs unchanged on Redis Cluster. The steps are not atomic together:
 * see the README on what a crash between them means.
 */
import type { Redis } from 'ioredis';
import { decayFactor } from '../features/score.js';
import { TRENDING_REBASE_HALF_LIVES, type ItemGraphParams, type ItemGraphStore, type ScoredItem } from './item-graph.js';
import { redisKeys } from './keys.js';
import { defineScripts } from './lua/index.js';
import { replies, zsetEntries } from './redis-codec.js';

export interface RedisItemGraphStoreOptions {
  /** A client; the store takes ownership and quits it on close. */
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly params: ItemGraphParams;
}

/** A sorted set's WITHSCORES reply as items, scores times `scale`. */
const scored = (flat: readonly string[], scale = 1): ScoredItem[] => zsetEntries(flat).map(([itemId, score]) => ({ itemId, score: score * scale }));


export function createRedisItemGraphStore(options: RedisItemGraphStoreOptions): ItemGraphStore {
  const redis = defineScripts(options.redis);
  const keys = redisKeys(options.keyPrefix);
  const p = options.params;

  return {
    async record(delta) {
      const pipeline = redis.pipeline();
      for (const [itemId, relations] of delta.edges) {
        const k = keys.item(itemId);
        for (const relation of ['viewed', 'bought'] as const) {
          const weights = relations[relation];
          if (weights.size > 0) pipeline.addNeighbours(k[relation], p.neighbours, ...[...weights].flat());
        }
      }
      if (delta.popularity.size > 0) {
        const t = keys.trending;
        pipeline.addTrending(t.items, t.epoch, p.trendingHalfLifeMs, p.trendingSize, delta.refTime, TRENDING_REBASE_HALF_LIVES, ...[...delta.popularity].flat());
      }
      if (pipeline.length > 0) replies(await pipeline.exec());
    },

    async read(lists, trending, now) {
      const pipeline = redis.pipeline();
      for (const { itemId, relation } of lists) pipeline.zrevrange(keys.item(itemId)[relation], 0, p.neighbours - 1, 'WITHSCORES');
      if (trending > 0) pipeline.zrevrange(keys.trending.items, 0, trending - 1, 'WITHSCORES').get(keys.trending.epoch);
      if (pipeline.length === 0) return { lists: [], trending: [] };
      const values = replies(await pipeline.exec());
      const result = { lists: lists.map((_, i) => scored(values[i] as string[])), trending: [] as ScoredItem[] };
      if (trending > 0) {
        const epoch = Number(values[lists.length + 1] ?? now);
        result.trending = scored(values[lists.length] as string[], decayFactor(now - epoch, p.trendingHalfLifeMs));
      }
      return result;
    },

    async ping() {
      await redis.ping();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
