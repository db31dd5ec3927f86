import type { UserState, UserStateStore } from './user-state.js';

/** In-process twin of the Redis store, for embedded dev mode and unit tests. */
export function createMemoryUserStateStore(): UserStateStore {
  const states = new Map<string, UserState>();
  return {
    async loadMany(userIds) {
      return userIds.map((id) => states.get(id));
    },
    async putIfNewer(userId, state) {
      const stored = states.get(userId);
      if (stored && stored.version >= state.version) return false;
      states.set(userId, { ...state });
      return true;
    },
    async ping() {},
    async close() {
      states.clear();
    },
  };
}
