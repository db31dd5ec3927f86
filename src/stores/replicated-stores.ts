/**
 * The Redis stores' writes, each followed by a wait for the replicas (see
 * `replicaWaiter` in redis-connection.ts): a store call that returned has
 * been replicated, so the processor commits offsets only for writes a
 * failover keeps. Reads pass through untouched.
 */
import type { ItemGraphStore } from './item-graph.js';
import type { UserStateStore } from './user-state.js';

const then =
  <A extends unknown[], R>(call: (...args: A) => Promise<R>, replicated: () => Promise<void>) =>
  async (...args: A): Promise<R> => {
    const result = await call(...args);
    await replicated();
    return result;
  };

export function replicatedUserStateStore(store: UserStateStore, replicated: () => Promise<void>): UserStateStore {
  return {
    ...store,
    applyEvents: then((byUser, now, options) => store.applyEvents(byUser, now, options), replicated),
    applyProfile: then((u, now) => store.applyProfile(u, now), replicated),
    restore: then((id, snapshot, options) => store.restore(id, snapshot, options), replicated),
    markSynced: then((users, ttl) => store.markSynced(users, ttl), replicated),
    drop: then((ids) => store.drop(ids), replicated),
    markOnline: then((generation) => store.markOnline(generation), replicated),
  };
}

export function replicatedItemGraphStore(store: ItemGraphStore, replicated: () => Promise<void>): ItemGraphStore {
  return { ...store, record: then((delta) => store.record(delta), replicated) };
}
