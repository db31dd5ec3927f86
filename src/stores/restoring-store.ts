/**
 * The processor's view of the user states: a user Redis no longer holds
 * (its idle countdown ended, or Redis lost it) is restored from MongoDB
 * before its events apply, in the same batch, so its version and its dedupe
 * memory continue from the durable copy and the result equals a run in which
 * it never left. Only a user MongoDB does not know either starts from the
 * defaults.
 *
 * The present users are applied first, and only the absent ones cost a
 * MongoDB lookup (one per call, a point query per user) and a second round trip. When MongoDB does not
 * answer, the call fails with {@link DurableCopyUnavailableError}: the batch
 * then waits, committing nothing, rather than apply an absent user's events
 * to an empty state (outcome-policy.ts holds on it). The present users'
 * events are in already and count once when the batch is delivered again.
 */
import { DurableCopyUnavailableError } from '../errors.js';
import type { ProfileStore } from './profile.js';
import type { UserStateStore } from './user-state.js';

export interface RestoringStoreOptions {
  /** The idle countdown a restored user starts with (REDIS_IDLE_TTL). */
  readonly idleTtlMs: number;
  /** Told how many absent users were found in MongoDB and restored, and how long that took. */
  readonly onRestored?: (count: number, durationMs: number) => void;
}

export function createRestoringStore(store: UserStateStore, profiles: ProfileStore, o: RestoringStoreOptions): UserStateStore {
  return {
    ...store,
    async applyEvents(byUser, now, options) {
      const results = await store.applyEvents(byUser, now, { ...options, onlyPresent: true });
      const absent = [...byUser.keys()].filter((userId) => !results.has(userId));
      if (absent.length === 0) return results;
      const started = Date.now();
      const durable = await profiles.findMany(absent).catch((error: unknown) => {
        throw new DurableCopyUnavailableError(absent.length, error);
      });
      // Version-checked: a copy another reader restored meanwhile, or a newer one, stays.
      const found = absent.flatMap((userId, i) => (durable[i] ? [{ userId, snapshot: durable[i].snapshot }] : []));
      await Promise.all(found.map((p) => store.restore(p.userId, p.snapshot, { idleTtlMs: o.idleTtlMs })));
      const restored = found.length;
      if (restored > 0) o.onRestored?.(restored, Date.now() - started);
      const rest = await store.applyEvents(new Map(absent.map((userId) => [userId, byUser.get(userId)!])), now, options);
      for (const [userId, r] of rest) results.set(userId, r);
      return results;
    },
  };
}
