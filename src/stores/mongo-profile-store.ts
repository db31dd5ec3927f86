import { MongoClient, MongoServerError, type Collection } from 'mongodb';
import type { ProfileStore, UserProfile } from './profile.js';
import type { UserState } from '../features/state.js';

interface ProfileDocument {
  _id: string;
  version: number;
  state: UserState;
  updatedAt: Date;
}

const DUPLICATE_KEY = 11000;

export interface MongoProfileStoreOptions {
  readonly url: string;
  readonly db: string;
  readonly collection?: string;
}

const toProfile = (d: ProfileDocument): UserProfile => ({
  userId: d._id,
  version: d.version,
  state: d.state,
  updatedAt: d.updatedAt.getTime(),
});

/**
 * Profiles in MongoDB. A version-checked upsert filters on `version < new`;
 * when a newer document exists the filter misses, the upsert tries to insert
 * the same `_id`, and the server answers E11000, which here means "already
 * newer", not a failure.
 */
export async function createMongoProfileStore(options: MongoProfileStoreOptions): Promise<ProfileStore> {
  const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 5000, appName: 'user-activity-subgraph' });
  await client.connect();
  const profiles: Collection<ProfileDocument> = client
    .db(options.db)
    .collection<ProfileDocument>(options.collection ?? 'user_profiles');

  return {
    async init() {
      await profiles.createIndex({ updatedAt: 1 });
    },
    async upsertIfNewer(p) {
      try {
        await profiles.updateOne(
          { _id: p.userId, version: { $lt: p.version } },
          { $set: { version: p.version, state: p.state, updatedAt: new Date(p.updatedAt) } },
          { upsert: true },
        );
        return 'written';
      } catch (error) {
        if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return 'stale';
        throw error;
      }
    },
    async findMany(userIds) {
      if (userIds.length === 0) return [];
      const found = await profiles.find({ _id: { $in: [...userIds] } }).toArray();
      const byId = new Map(found.map((d) => [d._id, toProfile(d)]));
      return userIds.map((id) => byId.get(id));
    },
    async ping() {
      await client.db(options.db).command({ ping: 1 });
    },
    async close() {
      await client.close();
    },
  };
}
