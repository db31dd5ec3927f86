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
 *
 * The scalar state (version, score, stamps, profile fields) is stored as
 * fields, so it can be queried; the collections a rebuild needs (window
 * buckets, recent items, categories, offset marks) as one JSON text field:
 * nothing queries them in MongoDB, their keys may hold `.` or `$`, and
 * FerretDB's cost grows with every embedded subdocument (60 bucket entries
 * made an upsert take 25 ms, against 3 ms as text). JSON keeps doubles exact.
 * The remembered event ids are one binary field in their packed form
 * (contracts/seen-ids.ts, 16 bytes an id). A document written before that
 * form keeps them in its JSON as eventId → arrival: they are packed on reading.
 */
import { Binary, MongoClient, MongoServerError, type Collection } from 'mongodb';
import { DependencyError } from '../errors.js';
import { DEFAULT_USER_STATE, type UserState } from '../features/state.js';
import type { ProfileStore, UserProfile } from './profile.js';
import type { UserSnapshot } from '../contracts/user-snapshot.js';
import { packLegacySeen } from '../contracts/seen-ids.js';

type Scalars = Omit<UserState, 'buckets' | 'recent' | 'categories'>;
type Collections = Pick<UserState, 'buckets' | 'recent' | 'categories'> & Pick<UserSnapshot, 'offsets'> & {
  /** Only in documents written before the packed form: eventId → arrival (epoch ms). */
  seen?: Record<string, number>;
};

interface ProfileDocument {
  _id: string;
  version: number;
  updatedAt: Date;
  state?: Scalars;
  /** JSON of Collections. */
  collections?: string;
  /** The remembered event ids, packed. */
  seenIds?: Binary;
}

interface CheckpointDocument {
  _id: string;
  offset: number;
}

const DUPLICATE_KEY = 11000;

function toProfile(d: ProfileDocument): UserProfile | undefined {
  if (!d.state) return undefined;
  const { seen: legacy, offsets = {}, ...collections } = d.collections ? (JSON.parse(d.collections) as Collections) : { buckets: {}, recent: {}, categories: {} };
  const state: UserState = { ...DEFAULT_USER_STATE, ...d.state, ...collections };
  const seen = d.seenIds ? d.seenIds.toString('base64') : legacy ? packLegacySeen(legacy).toString('base64') : '';
  return { userId: d._id, version: d.version, snapshot: { state, seen, offsets }, updatedAt: d.updatedAt.getTime() };
}

export interface MongoProfileStoreOptions {
  readonly url: string;
  readonly db: string;
  /**
   * The longest one operation may take, connection wait included (default
   * 60 s: FerretDB under load can take tens of seconds). The driver's socket timeout does not cover an operation queued
   * for a connection after the server restarted; without this bound such a
   * write could hang for ever and hold every later write of its user.
   */
  readonly operationTimeoutMs?: number;
}

/** `work`, or a retriable DependencyError once `ms` have passed (the operation may still land later). */
function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DependencyError('mongodb', new Error(`no answer within ${ms} ms`))), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** "Already newer": the version filter missed and the upsert's insert hit the existing `_id`. */
async function versionChecked(write: () => Promise<unknown>): Promise<'written' | 'stale'> {
  try {
    await write();
    return 'written';
  } catch (error) {
    if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return 'stale';
    throw error;
  }
}

export async function createMongoProfileStore(options: MongoProfileStoreOptions): Promise<ProfileStore> {
  // Bounded waits: a stalled server must fail operations (and open the sync's breaker), not hang them.
  // A small pool: FerretDB's SQLite backend serializes writes, and many connections only queue there.
  const client = new MongoClient(options.url, {
    serverSelectionTimeoutMS: 5000,
    socketTimeoutMS: 10_000,
    connectTimeoutMS: 5000,
    maxPoolSize: 8,
    appName: 'user-activity-subgraph',
  });
  const db = client.db(options.db);
  const profiles: Collection<ProfileDocument> = db.collection<ProfileDocument>('user_profiles');
  const checkpoints: Collection<CheckpointDocument> = db.collection<CheckpointDocument>('sync_checkpoints');

  const timeoutMs = options.operationTimeoutMs ?? 60_000;
  const queues = new Map<string, Promise<unknown>>();
  /** Runs `write` after every earlier write of the same key has settled. */
  function serialized<T>(key: string, write: () => Promise<T>): Promise<T> {
    const run = () => bounded(write(), timeoutMs);
    const next = (queues.get(key) ?? Promise.resolve()).then(run, run);
    const tail = next.catch(() => undefined);
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return next;
  }

  return {
    async init() {
      // Explicitly: an operation's own connect that fails closes the client for good, this one reopens it.
      await client.connect();
      await profiles.createIndex({ updatedAt: 1 });
    },
    upsertIfNewer: (p) =>
      serialized(p.userId, () => {
        const { buckets, recent, categories, ...state } = p.snapshot.state;
        const collections = JSON.stringify({ buckets, recent, categories, offsets: p.snapshot.offsets } satisfies Collections);
        const seenIds = new Binary(Buffer.from(p.snapshot.seen, 'base64'));
        return versionChecked(() =>
          profiles.updateOne(
            { _id: p.userId, version: { $lt: p.version } },
            { $set: { version: p.version, state, collections, seenIds, updatedAt: new Date(p.updatedAt) } },
            { upsert: true },
          ),
        );
      }),
    async findMany(userIds) {
      if (userIds.length === 0) return [];
      // One query per distinct id, in parallel over the pool, not one `$in`: FerretDB 1.x answers `_id: { $in }` by
      // scanning the collection (10.6 s at 100,000 documents here) and an `_id` equality by its index (79 ms);
      // MongoDB answers either from the index.
      const distinct = [...new Set(userIds)];
      const found = await bounded(Promise.all(distinct.map((id) => profiles.findOne({ _id: id }))), timeoutMs);
      const byId = new Map(distinct.map((id, i) => [id, found[i] ? toProfile(found[i]) : undefined]));
      return userIds.map((id) => byId.get(id));
    },
    async *scan(batchSize) {
      let batch: UserProfile[] = [];
      for await (const doc of profiles.find({}).sort({ _id: 1 }).batchSize(batchSize)) {
        const p = toProfile(doc);
        if (p) batch.push(p);
        if (batch.length === batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    },
    async saveCheckpoint(offsets) {
      await Promise.all(
        Object.entries(offsets).map(([tp, offset]) =>
          serialized(`checkpoint:${tp}`, () =>
            versionChecked(() => checkpoints.updateOne({ _id: tp, offset: { $lt: offset } }, { $set: { offset } }, { upsert: true })),
          ),
        ),
      );
    },
    async loadCheckpoint() {
      return Object.fromEntries((await bounded(checkpoints.find({}).toArray(), timeoutMs)).map((d) => [d._id, d.offset]));
    },
    async ping() {
      await client.connect();
      await db.command({ ping: 1 });
    },
    async close() {
      await client.close();
    },
  };
}

