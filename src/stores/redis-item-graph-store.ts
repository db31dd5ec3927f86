/**
 * The item graph in Redis: one sorted set per item and relation, trimmed to
 * the M strongest by one script per item over its two lists (one hash tag),
 * and one trending sorted set.
 * A delta is one pipeline (one round trip) of single-slot scripts,
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

const NON_ASCII = /[\u0080-\uffff]/;
/** Redis orders sorted set members by their bytes: as JavaScript orders ASCII text. */
const byBytes = (a: string, b: string): number =>
  NON_ASCII.test(a) || NON_ASCII.test(b) ? Buffer.compare(Buffer.from(a), Buffer.from(b)) : a < b ? -1 : a > b ? 1 : 0;

/**
 * One relation's part of add-neighbours' arguments: the count, then the
 * pairs, in the sorted set's descending order (heaviest first, on equal
 * weight the greater id) when there are more than M: the script then writes
 * only what can make the cut (see its header).
 */
function neighbourArgs(weights: ReadonlyMap<string, number>, m: number): (string | number)[] {
  const pairs = [...weights];
  if (pairs.length > m) pairs.sort((a, b) => b[1] - a[1] || byBytes(b[0], a[0]));
  const args: (string | number)[] = [pairs.length];
  for (const [neighbour, w] of pairs) args.push(neighbour, w);
  return args;
}

export function createRedisItemGraphStore(options: RedisItemGraphStoreOptions): ItemGraphStore {
  const redis = defineScripts(options.redis);
  const keys = redisKeys(options.keyPrefix);
  const p = options.params;

  return {
    async record(delta) {
      const pipeline = redis.pipeline();
      for (const [itemId, relations] of delta.edges) {
        const k = keys.item(itemId);
        pipeline.addNeighbours(k.viewed, k.bought, p.neighbours, ...neighbourArgs(relations.viewed, p.neighbours), ...neighbourArgs(relations.bought, p.neighbours));
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
