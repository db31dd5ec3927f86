/**
 * The API's reads, kept up when Redis is not:
 *  - users missing from Redis (an eviction, a partial loss) are loaded from
 *    MongoDB in one lookup per batch (a point query per user), written back to Redis (version-checked,
 *    so a newer state there is kept), and served;
 *  - while Redis has no generation (it restarted empty and a recovery is
 *    rebuilding it), what it holds is partial, so everyone is read from
 *    MongoDB instead and nothing is written back;
 *  - when Redis fails or does not answer within `redisDeadlineMs`, the same
 *    read comes from MongoDB; a breaker opens after consecutive failures, so
 *    reads then go to MongoDB at once, and one probe tries Redis again;
 *  - users found in neither store are remembered as unknown for
 *    `unknownTtlMs`, so a stream of reads for unknown users costs MongoDB
 *    nothing; concurrent reads of the same user share one MongoDB query
 *    (single flight, across requests).
 * States served from MongoDB carry `fromDurableCopy` (shown as stale). When
 * MongoDB fails too, the read fails with a DependencyError.
 */
import { setMaxListeners } from 'node:events';
import { ConsecutiveBreaker, TimeoutStrategy, circuitBreaker, handleAll, timeout, wrap } from 'cockatiel';
import { LRUCache } from 'lru-cache';
import { DependencyError } from '../errors.js';
import type { ProfileStore, UserProfile } from './profile.js';
import type { UserState, UserStateStore } from './user-state.js';

export interface ReadThroughOptions {
  /** How long a generation check is trusted, in ms (default 250). */
  readonly generationTtlMs?: number;
  /** How long a Redis read may take before MongoDB answers instead (default 300 ms). */
  readonly redisDeadlineMs?: number;
  /** How long a user found in neither store is taken as unknown (default 5 s). */
  readonly unknownTtlMs?: number;
  /** The idle countdown a user written back starts with (REDIS_IDLE_TTL); none when omitted. */
  readonly idleTtlMs?: number;
  /** Called with the number of users served from MongoDB while Redis was lost, failing or being recovered. */
  readonly onDegraded?: (count: number, why: 'recovering' | 'redis-failed') => void;
  /** Called when a user read from MongoDB could not be written back to Redis (it is still served; the next read tries again). */
  readonly onWriteBackFailed?: (userId: string, error: unknown) => void;
  readonly clock?: () => number;
}

/** How long a landed MongoDB read is shared with reads that missed Redis just before its write-back. */
const SETTLED_FLIGHT_MS = 1_000;

export function createReadThroughStore(online: UserStateStore, profiles: ProfileStore, onFallThrough: (count: number) => void = () => undefined, o: ReadThroughOptions = {}): UserStateStore {
  const clock = o.clock ?? Date.now;
  const ttl = o.generationTtlMs ?? 250;
  const redis = wrap(
    circuitBreaker(handleAll, { halfOpenAfter: 2_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(o.redisDeadlineMs ?? 300, TimeoutStrategy.Aggressive),
  );
  // Each read's deadline hangs an abort listener on the signal it is given until the read ends: one
  // per read in flight, not a leak, so this signal (which never aborts) has no cap for Node to warn at.
  const reads = new AbortController().signal;
  setMaxListeners(0, reads);
  const unknown = new LRUCache<string, true>({ max: 100_000, ttl: o.unknownTtlMs ?? 5_000, ttlResolution: 0, perf: { now: clock } });
  const inFlight = new Map<string, Promise<UserProfile | undefined>>();
  let checked: { at: number; online: Promise<boolean> } | undefined;
  // What MongoDB holds is durable: a copy written back may leave again when idle.
  const restoring = o.idleTtlMs === undefined ? undefined : { idleTtlMs: o.idleTtlMs };

  const isOnline = (): Promise<boolean> => {
    if (!checked || clock() - checked.at >= ttl) {
      checked = { at: clock(), online: redis.execute(() => online.generation(), reads).then((g) => g !== undefined) };
      checked.online.catch(() => (checked = undefined));
    }
    return checked.online;
  };

  /**
   * Profiles of `userIds` from MongoDB: one query for those no other read is
   * fetching, unknown ones skipped. With `writeBack`, each found one is
   * restored to Redis before its flight ends, so a read arriving meanwhile
   * shares the flight and one arriving after finds Redis (or, if it missed
   * Redis just before the write-back, the landed flight): one MongoDB read per
   * user, however many ask.
   */
  async function durable(userIds: readonly string[], writeBack = false): Promise<(UserProfile | undefined)[]> {
    const wanted = [...new Set(userIds)].filter((id) => !unknown.has(id) && !inFlight.has(id));
    if (wanted.length > 0) {
      const query = profiles.findMany(wanted).catch((error: unknown) => {
        throw new DependencyError('mongodb', error);
      });
      wanted.forEach((id, i) => {
        const one = query.then(async (found) => {
          const p = found[i];
          if (p && writeBack) await online.restore(id, p.snapshot, restoring).catch((error: unknown) => o.onWriteBackFailed?.(id, error));
          return p;
        });
        inFlight.set(id, one);
        const forget = () => inFlight.get(id) === one && inFlight.delete(id);
        // A found user is kept a moment after it lands: a read that missed Redis before the write-back
        // but asks after it shares this answer instead of querying again. An unknown user is left to
        // the negative cache, a failure forgotten at once.
        void one.then(
          (p) => {
            if (p) return void setTimeout(forget, SETTLED_FLIGHT_MS).unref();
            unknown.set(id, true);
            forget();
          },
          forget,
        );
      });
    }
    return Promise.all(userIds.map((id) => inFlight.get(id) ?? Promise.resolve(undefined)));
  }

  async function fromMongo(userIds: readonly string[], why: 'recovering' | 'redis-failed'): Promise<(UserState | undefined)[]> {
    o.onDegraded?.(userIds.length, why);
    return (await durable(userIds)).map((p) => p && { ...p.snapshot.state, fromDurableCopy: true });
  }

  return {
    ...online,
    async loadMany(userIds, options) {
      if (userIds.length === 0) return [];
      let states: (UserState | undefined)[];
      try {
        if (!(await isOnline())) return await fromMongo(userIds, 'recovering');
        states = await redis.execute(() => online.loadMany(userIds, options), reads);
      } catch (error) {
        if (error instanceof DependencyError) throw error;
        // A failed or slow read, or the breaker open after several: MongoDB answers instead.
        return fromMongo(userIds, 'redis-failed');
      }
      const missing = userIds.filter((id, i) => states[i] === undefined && !unknown.has(id));
      if (missing.length === 0) return states;
      onFallThrough(missing.length);
      const found = await durable(missing, true);
      const byId = new Map(missing.map((id, i) => [id, found[i]]));
      return userIds.map((id, i) => states[i] ?? byId.get(id)?.snapshot.state);
    },
  };
}
