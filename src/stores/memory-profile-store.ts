import type { ProfileStore, UserProfile } from './profile.js';
import type { PartitionOffsets } from '../contracts/offset-checkpoint.js';

/** In-process twin of the MongoDB profile store. */
export function createMemoryProfileStore(): ProfileStore {
  const profiles = new Map<string, UserProfile>();
  const checkpoint = new Map<string, number>();
  const copy = (userId: string): UserProfile | undefined => {
    const p = profiles.get(userId);
    return p && structuredClone(p);
  };
  return {
    async init() {},
    async upsertIfNewer(p) {
      if ((profiles.get(p.userId)?.version ?? -1) >= p.version) return 'stale';
      profiles.set(p.userId, structuredClone(p));
      return 'written';
    },
    async findMany(userIds) {
      return userIds.map(copy);
    },
    async *scan(batchSize) {
      const ids = [...profiles.keys()].sort();
      for (let i = 0; i < ids.length; i += batchSize) yield ids.slice(i, i + batchSize).map((id) => copy(id)!);
    },
    async saveCheckpoint(offsets: PartitionOffsets) {
      for (const [tp, offset] of Object.entries(offsets)) checkpoint.set(tp, Math.max(checkpoint.get(tp) ?? 0, offset));
    },
    async loadCheckpoint() {
      return Object.fromEntries(checkpoint);
    },
    async ping() {},
    async close() {
      profiles.clear();
    },
  };
}
