import { applyEvents, applyProfile } from '../features/apply.js';
import type { FeatureParams } from '../features/params.js';
import { DEFAULT_USER_STATE } from '../features/state.js';
import { recentItemsOf } from '../features/view.js';
import type { UserBatchResult, UserStateStore } from './user-state.js';
import type { UserSnapshot } from '../contracts/user-snapshot.js';
import { idDigest, packSeen, unpackSeen } from '../contracts/seen-ids.js';

const EMPTY_SNAPSHOT: UserSnapshot = Object.freeze({ state: DEFAULT_USER_STATE, seen: '', offsets: Object.freeze({}) });

/**
 * In-process twin of the Redis store, for embedded dev mode and unit tests:
 * the reference model (features/apply.ts) over a Map, remembering ids by
 * their digests in the packed form Redis keeps (contracts/seen-ids.ts).
 */
export interface MemoryUserStateStoreOptions {
  /** The clock that stamps dirty marks (`dirtyClock`), as Redis' TIME does for the Redis store; default `Date.now`. */
  readonly clock?: () => number;
}

export function createMemoryUserStateStore(params: FeatureParams, options: MemoryUserStateStoreOptions = {}): UserStateStore {
  const clock = options.clock ?? Date.now;
  const stored = new Map<string, UserSnapshot>();
  /** userId → when its idle countdown ends (by `clock`), for users whose latest version MongoDB holds. */
  const expiresAt = new Map<string, number>();
  /** The users, less those whose countdown has ended (gone, as Redis' expired keys are). */
  const users = {
    get(id: string): UserSnapshot | undefined {
      const at = expiresAt.get(id);
      if (at !== undefined && at <= clock()) {
        expiresAt.delete(id);
        stored.delete(id);
      }
      return stored.get(id);
    },
    has: (id: string) => users.get(id) !== undefined,
    set(id: string, snapshot: UserSnapshot, countdown?: number) {
      stored.set(id, snapshot);
      if (countdown === undefined) expiresAt.delete(id);
      else expiresAt.set(id, countdown);
    },
    clear() {
      stored.clear();
      expiresAt.clear();
    },
  };
  /** userId → dirty since; claims keep it too, with a lease expiry beside. */
  const dirty = new Map<string, number>();
  const claims = new Map<string, { since: number; expiry: number }>();
  let online: string | undefined;
  let lockedUntil = 0;
  const markDirty = (userId: string, at: number) => {
    if (!dirty.has(userId)) dirty.set(userId, at);
  };
  const copy = (s: UserSnapshot): UserSnapshot => structuredClone(s);
  return {
    async loadMany(userIds) {
      return userIds.map((id) => {
        const u = users.get(id);
        return u && copy(u).state;
      });
    },
    async applyEvents(byUser, now, options) {
      const results = new Map<string, UserBatchResult>();
      const at = clock(); // one stamp for the call, as one script call is in Redis
      for (const [userId, events] of byUser) {
        if (options?.onlyPresent && !users.has(userId)) continue;
        const current = users.get(userId) ?? EMPTY_SNAPSHOT;
        const seen = unpackSeen(Buffer.from(current.seen, 'base64')).map((r) => ({ key: r.digest, at: r.at }));
        const memory = { seen, offsets: new Map(Object.entries(current.offsets)) };
        const keyed = events.map((d) => ({ ...d, key: idDigest(d.event.eventId) }));
        const outcome = applyEvents(current.state, memory, keyed, params, now);
        const latestBefore = recentItemsOf(current.state, params).slice(0, options?.latestBefore ?? 0);
        // The offset marks move even when nothing was applied, as the Redis script's do.
        if (outcome.applied > 0 || users.has(userId)) {
          const packed = packSeen(outcome.memory.seen.map((r) => ({ digest: r.key, at: r.at }))).toString('base64');
          // Applying anything ends the idle countdown; offset marks alone keep it, as the Redis script does.
          users.set(userId, { state: outcome.state, seen: packed, offsets: Object.fromEntries(outcome.memory.offsets) }, outcome.applied > 0 ? undefined : expiresAt.get(userId));
        }
        if (outcome.applied > 0) markDirty(userId, at);
        const { applied, resent, redelivered, fresh } = outcome;
        results.set(userId, { version: outcome.state.version, applied, resent, redelivered, fresh, latestBefore });
      }
      return results;
    },
    async applyProfile(update, now) {
      const current = users.get(update.userId) ?? EMPTY_SNAPSHOT;
      const next = applyProfile(current.state, update, now);
      if (!next) return 0;
      users.set(update.userId, { ...current, state: next });
      markDirty(update.userId, clock());
      return next.version;
    },
    async exportMany(userIds) {
      return userIds.map((id) => {
        const u = users.get(id);
        return u && copy(u);
      });
    },
    async restore(userId, snapshot, options) {
      const current = users.get(userId);
      if (!options?.force && current && current.state.version >= snapshot.state.version) return false;
      users.set(userId, copy(snapshot), options?.idleTtlMs === undefined ? undefined : clock() + options.idleTtlMs);
      return true;
    },
    async markSynced(synced, idleTtlMs) {
      let started = 0;
      for (const { userId, version } of synced) {
        const current = users.get(userId);
        if (current?.state.version !== version) continue;
        users.set(userId, current, clock() + idleTtlMs);
        started++;
      }
      return started;
    },
    async *scanUsers(batchSize) {
      const ids = [...stored.keys()].filter((id) => users.has(id));
      for (let i = 0; i < ids.length; i += batchSize) yield ids.slice(i, i + batchSize);
    },
    async drop(userIds) {
      for (const id of userIds) {
        stored.delete(id);
        expiresAt.delete(id);
      }
    },
    async claimDirty(max, leaseMs, now) {
      for (const [id, c] of claims) {
        if (c.expiry > now) continue;
        claims.delete(id);
        dirty.set(id, Math.min(dirty.get(id) ?? Infinity, c.since));
      }
      const oldest = [...dirty].sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1)).slice(0, max);
      for (const [id, since] of oldest) {
        dirty.delete(id);
        claims.set(id, { since, expiry: now + leaseMs });
      }
      return oldest.map(([id]) => id);
    },
    async completeClaims(userIds) {
      for (const id of userIds) claims.delete(id);
    },
    async dirtyBacklog() {
      const since = [...dirty.values(), ...[...claims.values()].map((c) => c.since)];
      return { dirty: dirty.size, claimed: claims.size, oldestSince: since.length > 0 ? Math.min(...since) : undefined };
    },
    async dirtyClock() {
      return clock();
    },
    async generation() {
      return online;
    },
    async markOnline(generation) {
      online = generation;
    },
    async lockRecovery(ttlMs) {
      if (Date.now() < lockedUntil) return false;
      lockedUntil = Date.now() + ttlMs;
      return true;
    },
    async unlockRecovery() {
      lockedUntil = 0;
    },
    async ping() {},
    async close() {
      users.clear();
    },
  };
}
