/**
 * Reads that fall through to MongoDB: users missing from Redis (after a loss
 * or an eviction) are loaded from their profiles in one query per batch,
 * written back to Redis (version-checked, so a newer state there is kept),
 * and served. Users in neither store stay unknown.
 */
import type { ProfileStore } from './profile.js';
import type { UserStateStore } from './user-state.js';

export function createReadThroughStore(online: UserStateStore, profiles: ProfileStore, onFallThrough: (count: number) => void = () => undefined): UserStateStore {
  return {
    ...online,
    async loadMany(userIds, options) {
      const states = await online.loadMany(userIds, options);
      const missing = userIds.filter((_, i) => states[i] === undefined);
      if (missing.length === 0) return states;
      onFallThrough(missing.length);
      const found = await profiles.findMany(missing);
      const byId = new Map(missing.map((id, i) => [id, found[i]]));
      await Promise.all([...byId].flatMap(([id, p]) => (p ? [online.restore(id, p.snapshot)] : [])));
      return userIds.map((id, i) => states[i] ?? byId.get(id)?.snapshot.state);
    },
  };
}
