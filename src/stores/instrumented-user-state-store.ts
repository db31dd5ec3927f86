/** Times every call of a user state store into a Prometheus histogram, by operation. */
import type { Histogram } from 'prom-client';
import type { UserStateStore } from './user-state.js';

export function instrumentUserStateStore(store: UserStateStore, histogram: Histogram<'store' | 'op'>, name: string): UserStateStore {
  const timed =
    <A extends unknown[], R>(op: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const end = histogram.startTimer({ store: name, op });
      try {
        return await call(...args);
      } finally {
        end();
      }
    };
  return {
    loadMany: timed('loadMany', (ids, options) => store.loadMany(ids, options)),
    applyEvents: timed('applyEvents', (byUser, now, options) => store.applyEvents(byUser, now, options)),
    applyProfile: timed('applyProfile', (u, now) => store.applyProfile(u, now)),
    exportMany: timed('exportMany', (ids) => store.exportMany(ids)),
    restore: timed('restore', (id, s, o) => store.restore(id, s, o)),
    markSynced: timed('markSynced', (users, ttl) => store.markSynced(users, ttl)),
    scanUsers: (batchSize) => store.scanUsers(batchSize),
    drop: timed('drop', (ids) => store.drop(ids)),
    claimDirty: timed('claimDirty', (max, lease, now) => store.claimDirty(max, lease, now)),
    completeClaims: timed('completeClaims', (ids) => store.completeClaims(ids)),
    dirtyBacklog: timed('dirtyBacklog', () => store.dirtyBacklog()),
    dirtyClock: () => store.dirtyClock(),
    generation: () => store.generation(),
    markOnline: (generation) => store.markOnline(generation),
    lockRecovery: (ttlMs) => store.lockRecovery(ttlMs),
    unlockRecovery: () => store.unlockRecovery(),
    ping: timed('ping', () => store.ping()),
    close: () => store.close(),
  };
}
