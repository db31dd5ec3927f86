/**
 * The API's read path over HTTP while Redis misbehaves (fault-tests rows 13
 * and 14), on a Redis of the test's own and the shared MongoDB: a `CLIENT
 * PAUSE` of 5 s must not hold queries beyond the read deadline (they are
 * answered from MongoDB, marked stale), and after a flush 1,000 concurrent
 * queries of 100 users cost at most one MongoDB read per user.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMongoProfileStore } from '../../src/stores/mongo-profile-store.js';
import type { ProfileStore } from '../../src/stores/profile.js';
import { createReadThroughStore, type ReadThroughOptions } from '../../src/stores/read-through-store.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { createSync } from '../../src/sync/sync.js';
import { JWT_SECRET, post, ROUTER_SECRET, startApi, token } from '../support/api-harness.js';
import { delivered } from '../support/events.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { eventFile, isolatedConfig } from '../support/processor-harness.js';

const QUERY = `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id activityScore tier features { version isStale } } } }`;
type Entity = { id: string; activityScore: number; features: { version: number; isStale: boolean } };

describe('the read path while Redis misbehaves', () => {
  const config = isolatedConfig({ JWT_SECRET, ROUTER_SECRET });
  const users = Array.from({ length: 100 }, (_, i) => `user-${i}`);
  let redis: PrivateRedis;
  let admin: Redis;
  let store: UserStateStore;
  let profiles: ProfileStore;
  let mongoIds: string[] = [];
  let internal: string;
  let real: ProfileStore;
  const apis: { stop(): Promise<void> }[] = [];
  const versions = new Map<string, number>();

  beforeAll(async () => {
    redis = await startPrivateRedis();
    admin = new Redis(redis.url);
    // The read path's own 300 ms deadline is under test; the client's command timeout stays out of its way.
    store = createRedisUserStateStore({ redis: connectRedis(redis.url, 5_000), keyPrefix: config.redis.keyPrefix, params: config.features });
    await store.markOnline('g1');
    real = await createMongoProfileStore({ url: config.mongo.url, db: config.mongo.db });
    await real.init();
    // Every MongoDB read of a user is recorded.
    profiles = { ...real, findMany: (ids) => (mongoIds.push(...ids), real.findMany(ids)) };
    await store.applyEvents(delivered(eventFile(3_000, users.length, 91), Date.now()), Date.now());
    await createSync({ store, profiles: real, batchSize: 500, leaseMs: 5_000, intervalMs: 1_000 }).runOnce();
    for (const [i, s] of (await store.loadMany(users)).entries()) versions.set(users[i]!, s!.version);
    internal = await token('indexer', config.auth.internalScope);
  });
  afterAll(async () => {
    for (const api of apis) await api.stop();
    await Promise.all([store.close(), real.close()]);
    admin.disconnect();
    await redis.stop();
  });

  /** The API over the read-through store, with its options; returns a query function. */
  async function api(options: ReadThroughOptions = {}) {
    const server = await startApi(config, createReadThroughStore(store, profiles, undefined, options));
    apis.push(server);
    return (ids: readonly string[]) => post(server.url, QUERY, { variables: { reps: ids.map((id) => ({ __typename: 'User', id })) }, token: internal });
  }

  it('row 13: CLIENT PAUSE 5000: every query is answered within the deadline, from MongoDB, marked stale', async () => {
    const query = await api();
    await admin.call('CLIENT', 'PAUSE', '5000', 'ALL');
    const pausedAt = Date.now();
    const timings = await Promise.all(
      Array.from({ length: 20 }, async (_, n) => {
        const started = Date.now();
        const res = await query(users.slice(n * 5, n * 5 + 5));
        return { ms: Date.now() - started, res };
      }),
    );
    // All answered while Redis was still paused, each well within its SLA (300 ms read deadline + MongoDB).
    expect(Date.now() - pausedAt).toBeLessThan(4_000);
    for (const { ms, res } of timings) {
      expect(ms).toBeLessThan(2_000);
      expect(res.body.errors).toBeUndefined();
      for (const u of (res.body.data as { _entities: Entity[] })._entities) {
        expect(u.features.isStale).toBe(true);
        expect(u.features.version).toBe(versions.get(u.id));
      }
    }
    await admin.call('CLIENT', 'UNPAUSE');
  });

  it('row 14: FLUSHALL, then 1,000 concurrent queries of 100 users: at most one MongoDB read per user, then Redis again', async () => {
    // A Redis read slower than its 300 ms deadline under this load would be answered from MongoDB
    // (row 13's path, which writes nothing back); here only the stampede on missing keys is measured.
    const query = await api({ redisDeadlineMs: 10_000 });
    await admin.flushall();
    await store.markOnline('g2'); // the users' keys are gone, the service is not recovering: a cache stampede
    mongoIds = [];
    const results = await Promise.all(Array.from({ length: 1_000 }, (_, n) => query([users[n % users.length]!])));
    for (const res of results) {
      expect(res.body.errors).toBeUndefined();
      const [u] = (res.body.data as { _entities: Entity[] })._entities;
      expect(u!.features.version).toBe(versions.get(u!.id));
    }
    expect(mongoIds.length).toBeLessThanOrEqual(users.length);
    expect(new Set(mongoIds).size).toBe(mongoIds.length);
    // Written back: the users are in Redis again, and a second round reads none from MongoDB.
    expect((await store.loadMany(users)).every((s, i) => s?.version === versions.get(users[i]!))).toBe(true);
    mongoIds = [];
    await Promise.all(users.map((id) => query([id])));
    expect(mongoIds).toEqual([]);
  });
});
