/**
 * The online user state in Redis. Reads and batch writes are pipelined, so a
 * call costs one round trip however many users it touches; each user's change
 * is one Lua script over that user's keys (one hash slot).
 */
import { Cluster, type Redis } from 'ioredis';
import type { FeatureParams } from '../features/params.js';
import { ACTIVITY_TYPES } from '../features/activity.js';
import { bucketWidth } from '../features/windows.js';
import { redisKeys, userKeyList } from './keys.js';
import { connectRedis as connectTo } from './redis-connection.js';
import { defineScripts } from './lua/index.js';
import { decodeState, encodeStateFields, flatPairs, numberRecord, recentTriples, replies, stampField, stringRecord, zsetEntries, type HashFields } from './redis-codec.js';
import type { UserBatchResult, UserStateStore } from './user-state.js';
import type { UserSnapshot } from '../contracts/user-snapshot.js';
import { idDigest, packDigests, packLegacySeen } from '../contracts/seen-ids.js';

export interface RedisUserStateStoreOptions {
  /** A client; the store takes ownership and quits it on close. */
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly params: FeatureParams;
}

/** Users per pipelined round trip of a batch write. */
const USERS_PER_PIPELINE = 500;

/** The apply-events parameters that do not depend on the events, as the script's JSON argument. */
function scriptParams(p: FeatureParams): string {
  return JSON.stringify({
    halfLife: p.halfLifeMs,
    horizon: p.dedupeHorizonMs,
    epoch: p.affinityEpochMs,
    recent: p.recentItems,
    categories: p.maxCategories,
    seen: p.maxSeenIds,
    windows: p.windows.map((w) => [bucketWidth(w), w.buckets]),
    weights: Object.fromEntries(ACTIVITY_TYPES.map((t) => [t, p.weights[t]])),
  });
}



/** A user's seen ids as a snapshot holds them: the packed record, or a sorted set of the older form packed here. */
function packedSeen(packed: Buffer | null, legacy: readonly string[]): string {
  if (packed) return packed.toString('base64');
  return legacy.length > 0 ? packLegacySeen(zsetEntries(legacy)).toString('base64') : '';
}

export function createRedisUserStateStore(options: RedisUserStateStoreOptions): UserStateStore {
  const redis = defineScripts(options.redis);
  const keys = redisKeys(options.keyPrefix);
  const params = scriptParams(options.params);

  /**
   * Reads users' state in one pipeline: the state hash of each, their
   * collections unless only scalars are wanted, their seen ids when asked.
   */
  async function read(userIds: readonly string[], withSeen: boolean, scalarsOnly?: ReadonlySet<string>): Promise<(UserSnapshot | undefined)[]> {
    if (userIds.length === 0) return [];
    const pipeline = redis.pipeline();
    const full = userIds.map((id) => !scalarsOnly?.has(id));
    // The state hash last: a user's keys expire at one instant, so when it is still there, so was every
    // key read before it, and a user expiring during the pipeline is read as absent, never as half.
    userIds.forEach((id, i) => {
      const k = keys.user(id);
      if (full[i]) pipeline.hgetall(k.buckets).zrange(k.recent, 0, -1, 'WITHSCORES').hgetall(k.recentIds).zrange(k.categories, 0, -1, 'WITHSCORES');
      if (withSeen) pipeline.getBuffer(k.seen).zrange(k.legacySeen, 0, -1, 'WITHSCORES').hgetall(k.offsets);
      pipeline.hgetall(k.state);
    });
    const values = replies(await pipeline.exec());
    let at = 0;
    const next = <T>() => values[at++] as T;
    return userIds.map((_, i) => {
      const [b, r, ri, c] = full[i] ? [next<HashFields>(), next<string[]>(), next<HashFields>(), next<string[]>()] : [{}, [], {}, []];
      const [seen, offsets] = withSeen ? [packedSeen(next<Buffer | null>(), next<string[]>()), numberRecord(next<HashFields>())] : ['', {}];
      const h = next<HashFields>();
      const state = decodeState(h, b, r, ri, c);
      return state && { state, seen, offsets };
    });
  }

  return {
    async loadMany(userIds, options) {
      return (await read(userIds, false, options?.scalarsOnly)).map((u) => u?.state);
    },
    exportMany: (userIds) => read(userIds, true),

    async applyEvents(byUser, now, options) {
      const latestBefore = options?.latestBefore ?? 0;
      const results = new Map<string, UserBatchResult>();
      const users = [...byUser];
      // One pipeline per chunk of users, one after the other: a backlog batch of thousands of users
      // in one pipeline can outlast the command timeout, and its retry would find it all applied.
      for (let from = 0; from < users.length; from += USERS_PER_PIPELINE) {
        const chunk = users.slice(from, from + USERS_PER_PIPELINE);
        const pipeline = redis.pipeline();
        for (const [userId, events] of chunk) {
          const eventArgs = events.flatMap(({ event: e, arrivedAt, source, offset }) => [e.eventId, e.type, e.itemId ?? '', e.category ?? '', e.occurredAt, arrivedAt, source ?? '', offset ?? '']);
          const digests = packDigests(events.map((d) => idDigest(d.event.eventId)));
          pipeline.applyEvents(...userKeyList(keys.user(userId)), now, params, latestBefore, options?.onlyPresent ? 'present' : 'any', digests, ...eventArgs);
        }
        // The dirty index is its own slot, so it is written beside the scripts, not inside them, and stamped by Redis' clock.
        pipeline.markDirty(keys.sync.dirty, ...chunk.map(([userId]) => userId));
        const values = replies(await pipeline.exec());
        chunk.forEach(([userId], i) => {
          const reply = values[i] as [number, number, number, number, string, string[]] | [-1];
          if (reply[0] === -1) return; // absent, and only present users were to be applied
          const [version, applied, resent, redelivered, fresh, latest] = reply as [number, number, number, number, string, string[]];
          results.set(userId, { version, applied, resent, redelivered, fresh: [...fresh].map((c) => c === '1'), latestBefore: recentTriples(latest) });
        });
      }
      return results;
    },

    async applyProfile(u, now) {
      const version = await redis.applyProfile(...userKeyList(keys.user(u.userId)), u.profileVersion, u.vip ? 1 : 0, u.status ?? '', now);
      if (version > 0) await redis.markDirty(keys.sync.dirty, u.userId);
      return version;
    },

    async restore(userId, snapshot, options) {
      const { state, seen } = snapshot;
      const written = await redis.restoreState(
        ...userKeyList(keys.user(userId)),
        options?.force ? 'force' : state.version,
        state.version,
        JSON.stringify(encodeStateFields(state)),
        Buffer.from(seen, 'base64'),
        JSON.stringify(stringRecord(state.buckets)),
        JSON.stringify(Object.fromEntries(Object.entries(state.recent).map(([item, s]) => [item, stampField(s)]))),
        JSON.stringify(flatPairs(state.categories)),
        JSON.stringify(stringRecord(snapshot.offsets)),
        options?.idleTtlMs ?? '',
      );
      return written === 1;
    },

    async markSynced(users, idleTtlMs) {
      if (users.length === 0) return 0;
      const pipeline = redis.pipeline();
      for (const u of users) pipeline.expireSynced(...userKeyList(keys.user(u.userId)), u.version, idleTtlMs);
      return (replies(await pipeline.exec()) as number[]).reduce((a, n) => a + n, 0);
    },

    async *scanUsers(batchSize) {
      // The state hash names a user; every master of a cluster holds some. Glob characters in the prefix are escaped.
      const stateKey = keys.user('*').state;
      const [head, tail] = [stateKey.slice(0, stateKey.indexOf('*')), stateKey.slice(stateKey.indexOf('*') + 1)];
      const match = `${head.replace(/[*?[\]\\]/g, '\\$&')}*${tail}`;
      const cluster = redis as unknown as Cluster;
      for (const node of cluster instanceof Cluster ? cluster.nodes('master') : [redis]) {
        let cursor = '0';
        do {
          const [next, found] = await node.scan(cursor, 'MATCH', match, 'COUNT', batchSize);
          cursor = next;
          const ids = found.filter((k) => k.startsWith(head) && k.endsWith(tail)).map((k) => k.slice(head.length, k.length - tail.length));
          if (ids.length > 0) yield ids;
        } while (cursor !== '0');
      }
    },

    async drop(userIds) {
      if (userIds.length === 0) return;
      const pipeline = redis.pipeline();
      for (const id of userIds) pipeline.del(...userKeyList(keys.user(id)));
      replies(await pipeline.exec());
    },

    claimDirty: (max, leaseMs, now) => redis.claimDirty(keys.sync.dirty, keys.sync.claims, keys.sync.leases, now, leaseMs, max),

    async completeClaims(userIds) {
      if (userIds.length > 0) await redis.completeClaims(keys.sync.claims, keys.sync.leases, ...userIds);
    },

    async dirtyBacklog() {
      const [dirty, claimed, oldestDirty, oldestClaim] = replies(
        await redis
          .pipeline()
          .zcard(keys.sync.dirty)
          .zcard(keys.sync.claims)
          .zrange(keys.sync.dirty, 0, 0, 'WITHSCORES')
          .zrange(keys.sync.claims, 0, 0, 'WITHSCORES')
          .exec(),
      ) as [number, number, string[], string[]];
      const oldest = [oldestDirty[1], oldestClaim[1]].filter((x) => x !== undefined).map(Number);
      return { dirty, claimed, oldestSince: oldest.length > 0 ? Math.min(...oldest) : undefined };
    },

    dirtyClock: () => redis.dirtyClock(keys.sync.dirty),

    async generation() {
      return (await redis.get(keys.sync.online)) ?? undefined;
    },
    async markOnline(generation) {
      await redis.set(keys.sync.online, generation);
    },
    async lockRecovery(ttlMs) {
      return (await redis.set(keys.sync.recovering, '1', 'PX', ttlMs, 'NX')) === 'OK';
    },
    async unlockRecovery() {
      await redis.del(keys.sync.recovering);
    },

    async ping() {
      await redis.ping();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** A single-node client with the service's defaults (see redis-connection.ts), for callers that hold a URL alone. */
export function connectRedis(url: string, commandTimeoutMs: number, onError: (error: Error) => void = () => undefined): Redis {
  return connectTo({ url, clusterNodes: [], commandTimeoutMs }, onError);
}
