import type { ProfileStore, UserProfile } from './profile.js';

/** In-process twin of the MongoDB profile store. */
export function createMemoryProfileStore(): ProfileStore {
  const profiles = new Map<string, UserProfile>();
  return {
    async init() {},
    async upsertIfNewer(p) {
      const stored = profiles.get(p.userId);
      if (stored && stored.version >= p.version) return 'stale';
      profiles.set(p.userId, structuredClone(p));
      return 'written';
    },
    async findMany(userIds) {
      return userIds.map((id) => {
        const p = profiles.get(id);
        return p && structuredClone(p);
      });
    },
    async ping() {},
    async close() {
      profiles.clear();
    },
  };
}
