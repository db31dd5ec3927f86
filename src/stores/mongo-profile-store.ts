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
 *
 * MongoDB applies one document's update atomically, but FerretDB 1.x (SQLite)
 * does not: two concurrent upserts of one user can both pass the filter and
 * the older may land last. So writes to one user are queued one after the
 * other within this process; across processes, the sync's claims keep a user
 * with one writer at a time.
 */
export async function createMongoProfileStore(options: MongoProfileStoreOptions): Promise<ProfileStore> {
  const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 5000, appName: 'user-activity-subgraph' });
  await client.connect();
  const profiles: Collection<ProfileDocument> = client
    .db(options.db)
    .collection<ProfileDocument>(options.collection ?? 'user_profiles');

  const queues = new Map<string, Promise<unknown>>();
  /** Runs `write` after every earlier write of the same user has settled. */
  function serialized<T>(userId: string, write: () => Promise<T>): Promise<T> {
    const previous = queues.get(userId) ?? Promise.resolve();
    const next = previous.then(write, write);
    const tail = next.catch(() => undefined);
    queues.set(userId, tail);
    void tail.then(() => {
      if (queues.get(userId) === tail) queues.delete(userId);
    });
    return next;
  }

  return {
    async init() {
      await profiles.createIndex({ updatedAt: 1 });
    },
    upsertIfNewer: (p) =>
      serialized(p.userId, async () => {
        try {
          await profiles.updateOne(
            { _id: p.userId, version: { $lt: p.version } },
            { $set: { version: p.version, state: p.state, updatedAt: new Date(p.updatedAt) } },
            { upsert: true },
          );
          return 'written' as const;
        } catch (error) {
          if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return 'stale' as const;
          throw error;
        }
      }),
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
