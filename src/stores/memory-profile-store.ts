import type { ProfileUpdate } from '../features/apply.js';
import { DEFAULT_USER_STATE } from '../features/state.js';
import { withStatic, type ProfileStore, type UserProfile } from './profile.js';
import type { PartitionOffsets } from '../contracts/offset-checkpoint.js';

/** In-process twin of the MongoDB profile store. */
export function createMemoryProfileStore(): ProfileStore {
  const profiles = new Map<string, { profile?: UserProfile; static?: ProfileUpdate }>();
  const checkpoint = new Map<string, number>();
  const merged = (userId: string): UserProfile | undefined => {
    const doc = profiles.get(userId);
    if (!doc) return undefined;
    const base = doc.profile ?? { userId, version: 0, snapshot: { state: DEFAULT_USER_STATE, seen: {}, offsets: {} }, updatedAt: 0 };
    return structuredClone({ ...base, snapshot: withStatic(base.snapshot, doc.static) });
  };
  return {
    async init() {},
    async upsertIfNewer(p) {
      const doc = profiles.get(p.userId) ?? {};
      if ((doc.profile?.version ?? -1) >= p.version) return 'stale';
      profiles.set(p.userId, { ...doc, profile: structuredClone(p) });
      return 'written';
    },
    async applyStatic(u) {
      const doc = profiles.get(u.userId) ?? {};
      if ((doc.static?.profileVersion ?? -1) >= u.profileVersion) return 'stale';
      profiles.set(u.userId, { ...doc, static: { ...u } });
      return 'written';
    },
    async findMany(userIds) {
      return userIds.map(merged);
    },
    async *scan(batchSize) {
      const ids = [...profiles.keys()].sort();
      for (let i = 0; i < ids.length; i += batchSize) yield ids.slice(i, i + batchSize).map((id) => merged(id)!);
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
