/**
 * An optional in-process cache (lru-cache, short TTL) in front of the user
 * state store's reads. Feature updates invalidate entries: `invalidate(id, v)`
 * drops the user and leaves a floor, so a read that raced the update and
 * returned a version below `v` is served but not cached.
 */
import { LRUCache } from 'lru-cache';
import type { UserState } from '../features/state.js';
import type { UserStateStore } from './user-state.js';

type Entry = { readonly kind: 'state'; readonly state: UserState | undefined } | { readonly kind: 'floor'; readonly version: number };

export interface CachedUserStateStore extends UserStateStore {
  invalidate(userId: string, version: number): void;
  readonly stats: { hits: number; misses: number };
}

export function createCachedUserStateStore(inner: UserStateStore, options: { ttlMs: number; max: number }): CachedUserStateStore {
  const cache = new LRUCache<string, Entry>({ max: options.max, ttl: options.ttlMs });
  const stats = { hits: 0, misses: 0 };
  return {
    ...inner,
    stats,
    invalidate(userId, version) {
      cache.set(userId, { kind: 'floor', version });
    },
    // The cache holds whole states: it always reads them whole.
    async loadMany(userIds) {
      const out = new Array<UserState | undefined>(userIds.length);
      const missing: number[] = [];
      userIds.forEach((id, i) => {
        const entry = cache.get(id);
        if (entry?.kind === 'state') {
          stats.hits++;
          out[i] = entry.state;
        } else missing.push(i);
      });
      stats.misses += missing.length;
      if (missing.length === 0) return out;
      const loaded = await inner.loadMany(missing.map((i) => userIds[i]!));
      missing.forEach((index, j) => {
        const id = userIds[index]!;
        const state = loaded[j];
        out[index] = state;
        const floor = cache.get(id);
        if (floor?.kind !== 'floor' || (state?.version ?? 0) >= floor.version) cache.set(id, { kind: 'state', state });
      });
      return out;
    },
  };
}
