import { applyEvents, applyProfile } from '../features/apply.js';
import type { FeatureParams } from '../features/params.js';
import { DEFAULT_USER_STATE } from '../features/state.js';
import type { UserBatchResult, UserSnapshot, UserStateStore } from './user-state.js';

/**
 * In-process twin of the Redis store, for embedded dev mode and unit tests:
 * the reference model (features/apply.ts) over a Map.
 */
export function createMemoryUserStateStore(params: FeatureParams): UserStateStore & { readonly dirty: ReadonlySet<string> } {
  const users = new Map<string, UserSnapshot>();
  const dirty = new Set<string>();
  const copy = (s: UserSnapshot): UserSnapshot => structuredClone(s);
  return {
    dirty,
    async loadMany(userIds) {
      return userIds.map((id) => {
        const u = users.get(id);
        return u && copy(u).state;
      });
    },
    async applyEvents(byUser, now) {
      const results = new Map<string, UserBatchResult>();
      for (const [userId, events] of byUser) {
        const current = users.get(userId) ?? { state: DEFAULT_USER_STATE, seen: {} };
        const outcome = applyEvents(current.state, new Map(Object.entries(current.seen)), events, params, now);
        if (outcome.applied > 0) {
          users.set(userId, { state: outcome.state, seen: Object.fromEntries(outcome.seen) });
          dirty.add(userId);
        }
        const { applied, duplicates, late } = outcome;
        results.set(userId, { version: outcome.state.version, applied, duplicates, late });
      }
      return results;
    },
    async applyProfile(update, now) {
      const current = users.get(update.userId) ?? { state: DEFAULT_USER_STATE, seen: {} };
      const next = applyProfile(current.state, update, now);
      if (!next) return 0;
      users.set(update.userId, { state: next, seen: current.seen });
      dirty.add(update.userId);
      return next.version;
    },
    async exportMany(userIds) {
      return userIds.map((id) => {
        const u = users.get(id);
        return u && copy(u);
      });
    },
    async restore(userId, snapshot) {
      const stored = users.get(userId);
      if (stored && stored.state.version >= snapshot.state.version) return false;
      users.set(userId, copy(snapshot));
      return true;
    },
    async ping() {},
    async close() {
      users.clear();
    },
  };
}
