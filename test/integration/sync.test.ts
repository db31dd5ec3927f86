/**
 * Durable profiles on real Redis, Kafka and the MongoDB-protocol server: the
 * sync's copies match Redis, versions never go down, a frozen MongoDB loses
 * nothing, a flushed Redis reads through and recovers, and a dead sync
 * instance's claims are finished by another.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { createProcessor } from '../../src/ingest/processor.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMongoProfileStore } from '../../src/stores/mongo-profile-store.js';
import type { ProfileStore } from '../../src/stores/profile.js';
import { redisKeys, userKeyList } from '../../src/stores/keys.js';
import { createReadThroughStore } from '../../src/stores/read-through-store.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { committedOffsets, endOffsets, sum } from '../../src/ingest/offsets.js';
import { scoreOf } from '../../src/features/view.js';
import { ensureOnline, recover } from '../../src/ingest/recovery.js';
import { createSync, type Sync } from '../../src/sync/sync.js';
import { delivered, expectSameState } from '../support/events.js';
import { startPrivateServer } from '../support/private-server.js';
import { startPrivateRedis } from '../support/private-redis.js';
import { eventFile, isolatedConfig, produce, referenceStates, toMessage, waitCaughtUp } from '../support/processor-harness.js';
import { waitFor } from '../support/wait-for.js';

const logger = createLogger('silent');

describe('durable profiles', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  async function setup(extra: Record<string, string> = {}) {
    const config = isolatedConfig({ SYNC_LEASE_MS: '2000', ...extra });
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 1000), keyPrefix: config.redis.keyPrefix, params: config.features });
    const profiles = await createMongoProfileStore({ url: config.mongo.url, db: config.mongo.db });
    await profiles.init();
    // What a processor's supervisor does at start (see ingest/supervisor.ts): the sync records no checkpoint without it.
    await store.markOnline('test');
    const processor = createProcessor({ kafka, store, config, logger });
    await processor.start();
    cleanup.push(() => store.close(), () => profiles.close(), () => processor.stop());
    const newSync = (batchSize = 200): Sync => {
      const sync = createSync({
        store,
        profiles,
        offsets: () => committedOffsets(kafka, [{ groupId: config.processor.groupId, topics: [config.kafka.topics.activity] }]),
        batchSize,
        leaseMs: config.sync.leaseMs,
        intervalMs: 100,
        breaker: { failures: 3, halfOpenAfterMs: 1000 },
      });
      sync.on('error', () => undefined);
      return sync;
    };
    return { config, kafka, store, profiles, processor, newSync };
  }

  async function expectMongoMatchesRedis(store: UserStateStore, profiles: ProfileStore, users: string[]) {
    const [online, durable] = await Promise.all([store.exportMany(users), profiles.findMany(users)]);
    users.forEach((_, i) => {
      expect(durable[i]?.version).toBe(online[i]!.state.version);
      expect(durable[i]!.snapshot).toEqual(online[i]);
    });
  }

  it('copies every changed user to MongoDB exactly; two instances and re-sent old versions never lower a version', async () => {
    const { config, kafka, store, profiles, newSync } = await setup();
    // 150 users in claims of 50: each instance takes several batches, and they race for the same backlog.
    // (FerretDB's SQLite backend writes under a hundred 4 KB profiles a second on two cores under load; more users add minutes, not bounds.)
    const events = eventFile(20_000, 150, 61);
    await produce(kafka, config.kafka.topics.activity, events.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);
    const users = [...new Set(events.map((e) => e.userId))];

    const older = (await store.exportMany(users.slice(0, 60))).map((s, i) => ({ userId: users[i]!, snapshot: { ...s!, state: { ...s!.state, version: s!.state.version - 1 } } }));
    await profiles.upsertIfNewer({ userId: users[0]!, version: 10_000, snapshot: older[0]!.snapshot, updatedAt: 0 }).then(() => undefined);
    const [one, two] = [newSync(50), newSync(50)];
    await Promise.all([
      one.runOnce(),
      two.runOnce(),
      // Old versions arriving late, concurrently with the sync.
      ...older.slice(1).map((o) => profiles.upsertIfNewer({ userId: o.userId, version: o.snapshot.state.version, snapshot: o.snapshot, updatedAt: 0 })),
    ]);
    await one.runOnce(); // anything an old version raced past gets its turn
    expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
    // users[0] was given a far newer version by hand: the sync's older copy did not replace it.
    expect((await profiles.findMany([users[0]!]))[0]?.version).toBe(10_000);
    await expectMongoMatchesRedis(store, profiles, users.slice(1));
    expect(await profiles.loadCheckpoint()).toEqual(await committedOffsets(kafka, [{ groupId: config.processor.groupId, topics: [config.kafka.topics.activity] }]));
  }, 120_000);

  it('keeps processing activity and VIP profiles into Redis on every partition while MongoDB is frozen for 60 s, then writes everything, with nothing in the DLQ', async () => {
    const mongo = await startPrivateServer('mongo');
    cleanup.push(() => mongo.stop());
    const { config, kafka, store, profiles, newSync } = await setup({ MONGO_URL: mongo.address });
    const sync = newSync();
    sync.start();
    cleanup.push(() => sync.stop());
    const events = eventFile(20_000, 300, 62);
    await produce(kafka, config.kafka.topics.activity, events.slice(0, 5_000).map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);

    process.kill(mongo.pid, 'SIGSTOP');
    const frozenAt = Date.now();
    // Profiles in flight on every partition (fault-tests row 35): none may hold its partition.
    const vips = Array.from({ length: 30 }, (_, i) => `user-${i * 9}`);
    await produce(kafka, config.kafka.topics.profile, vips.map((userId) => ({ key: userId, value: JSON.stringify({ userId, version: 7, vip: true, status: 'vip' }) })));
    await produce(kafka, config.kafka.topics.activity, events.slice(5_000).map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity, config.kafka.topics.profile], 25_000);
    expect(Date.now() - frozenAt).toBeLessThan(30_000);
    // The profiles were spread over all three partitions, and all were consumed above.
    expect(Object.values(await endOffsets(kafka, [config.kafka.topics.profile])).filter((n) => n > 0)).toHaveLength(3);
    // The VIP floor shows at once, from Redis, while MongoDB is still frozen.
    for (const state of await store.loadMany(vips)) {
      expect(state).toMatchObject({ vip: true, profileVersion: 7 });
      expect(scoreOf(state!, Date.now(), config.features).tier).toMatch(/GOLD|PLATINUM/);
    }
    expect((await store.dirtyBacklog()).dirty + (await store.dirtyBacklog()).claimed).toBeGreaterThan(0);
    await waitFor(() => sync.breakerState === 'open', { timeoutMs: 30_000, what: 'the sync breaker to open' });
    // The outage lasts 60 s (fault-tests row 15); this is its length, not a wait for a condition.
    await sleep(Math.max(0, 60_000 - (Date.now() - frozenAt)));
    process.kill(mongo.pid, 'SIGCONT');

    const users = [...new Set(events.map((e) => e.userId))];
    // Writes the frozen server still held may land after it resumes; the sync finds and rewrites
    // any copy they set back, so wait for MongoDB to match, then check it exactly.
    await waitFor(async () => {
      const b = await store.dirtyBacklog();
      if (b.dirty > 0 || b.claimed > 0) return false;
      const [online, durable] = await Promise.all([store.exportMany(users), profiles.findMany(users)]);
      return users.every((_, i) => durable[i]?.version === online[i]!.state.version);
    }, { timeoutMs: 60_000, intervalMs: 500, what: 'MongoDB to hold every user’s newest version' });
    await expectMongoMatchesRedis(store, profiles, users);
    const expected = referenceStates(events, config.features);
    const durable = await profiles.findMany(users);
    for (const id of vips) expected.set(id, { ...expected.get(id)!, vip: true, status: 'vip', profileVersion: 7 });
    users.forEach((id, i) => expectSameState(durable[i]!.snapshot.state, expected.get(id), 1e-9, { bookkeeping: false }));
    // Nothing was dead-lettered: the DLQ has no message at all, read after the consumer reached its inputs' end.
    expect(sum(await endOffsets(kafka, [config.kafka.topics.activityDlq]))).toBe(0);
  }, 240_000);

  it('reads through to MongoDB after Redis is flushed, and recovery rebuilds the clean state, events after the last sync included', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const { config, kafka, store, profiles, processor, newSync } = await setup({ REDIS_URL: redis.url });
    const a = eventFile(6_000, 200, 63);
    const b = eventFile(3_000, 100, 64).map((e) => ({ ...e, eventId: `b-${e.eventId}` })); // users 0–99 again, after the sync
    await produce(kafka, config.kafka.topics.activity, a.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);
    await newSync().runOnce();
    await produce(kafka, config.kafka.topics.activity, b.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);
    await processor.stop();

    const untouched = [...new Set(a.map((e) => e.userId))].filter((u) => !b.some((e) => e.userId === u));
    expect(untouched.length).toBeGreaterThan(50);
    const before = await store.loadMany(untouched);
    const flusher = new Redis(redis.url);
    await flusher.flushall();
    expect(await store.loadMany(untouched.slice(0, 1))).toEqual([undefined]);

    let fellThrough = 0;
    let recovering = 0;
    const readThrough = createReadThroughStore(store, profiles, (n) => (fellThrough += n), { generationTtlMs: 0, onDegraded: (n, why) => why === 'recovering' && (recovering += n) });
    // No generation: Redis is being rebuilt, so every read comes from MongoDB, stale, and nothing is written back.
    expect(await readThrough.loadMany(untouched)).toEqual(before.map((st) => ({ ...st!, fromDurableCopy: true })));
    expect(recovering).toBe(untouched.length);
    expect(await store.loadMany(untouched.slice(0, 1))).toEqual([undefined]);

    // A batch in flight at the loss wrote to the empty Redis and was never committed: one user it touched is in
    // MongoDB (rebuilt from nothing here), one is not. The recovery puts back the first and drops the second.
    const partialUser = untouched[1]!;
    await store.applyEvents(delivered([{ eventId: 'uncommitted-1', userId: partialUser, type: 'VIEW', itemId: 'item-1', occurredAt: Date.now() }]), Date.now());
    await store.applyEvents(delivered([{ eventId: 'uncommitted-2', userId: 'ghost-user', type: 'VIEW', itemId: 'item-1', occurredAt: Date.now() }]), Date.now());
    expect((await store.loadMany([partialUser]))[0]!.version).toBe(1);

    // What a processor does at start: the generation went with the flush, so it recovers, once.
    const generation = await ensureOnline({ store, profiles, kafka, config, logger });
    expect(await store.loadMany([partialUser, 'ghost-user'])).toEqual([before[1], undefined]);
    expect(await store.generation()).toBe(generation);
    expect(await ensureOnline({ store, profiles, kafka, config, logger })).toBe(generation);

    // Online again, a user missing from Redis (evicted) reads through and is written back.
    const evicted = untouched[0]!;
    await flusher.del(...userKeyList(redisKeys(config.redis.keyPrefix).user(evicted)));
    expect(await readThrough.loadMany([evicted])).toEqual([before[0]]);
    expect(fellThrough).toBe(1);
    // The write-back is best effort (a Redis too slow under load just then drops it): a later miss writes it again.
    await waitFor(async () => (await store.loadMany([evicted]))[0] !== undefined || (await readThrough.loadMany([evicted]), false), {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'the read-through to write the evicted user back',
    });
    expect(await store.loadMany([evicted])).toEqual([before[0]]);
    flusher.disconnect();
    const all = [...a, ...b];
    const expected = referenceStates(all, config.features);
    const users = [...expected.keys()];
    // Users the replay did not touch are restored when read (recovery.ts).
    const recovered = await readThrough.loadMany(users);
    users.forEach((id, i) => expectSameState(recovered[i], expected.get(id), 1e-9, { bookkeeping: false }));
  });

  it('moves the checkpoint at least once a minute under 1k events/s for 3 minutes, covers the end within 10 s of the load (two sync passes where writes are slower), and a loss after that replays only what came later', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const { config, kafka, store, profiles, processor, newSync } = await setup({ REDIS_URL: redis.url });
    const sync = newSync();
    const topic = config.kafka.topics.activity;
    const advances: { at: number; covered: number }[] = [];
    sync.on('checkpoint', (offsets) => {
      const covered = sum(offsets);
      if (covered > (advances.at(-1)?.covered ?? 0)) advances.push({ at: Date.now(), covered });
    });
    sync.start();
    cleanup.push(() => sync.stop());
    // 100 users, 1,000 events a second for 180 s: every user changes several times a second, so the dirty set is never empty.
    const SECONDS = 180;
    const events = eventFile(SECONDS * 1000, 100, 65);
    const startedAt = Date.now();
    for (let s = 0; s < SECONDS; s++) {
      await produce(kafka, topic, events.slice(s * 1000, (s + 1) * 1000).map(toMessage));
      await sleep(Math.max(0, startedAt + (s + 1) * 1000 - Date.now())); // paces the load at 1,000 a second
    }
    const stoppedAt = Date.now();
    const during = [startedAt, ...advances.filter((a) => a.at <= stoppedAt).map((a) => a.at), stoppedAt];
    const gaps = during.slice(1).map((t, i) => t - during[i]!);
    expect(Math.max(...gaps), `gaps between checkpoint advances: ${gaps.join(', ')} ms`).toBeLessThanOrEqual(60_000);
    // Once the load stops, the pass then running and the next one write what is left: the checkpoint covers
    // the end within 10 s, or within those two passes where one write takes longer (FerretDB's SQLite
    // backend here: tens of milliseconds for each of these 30 KB documents, so a pass of 100 users takes seconds).
    const passes: number[] = [];
    sync.on('pass', (p) => passes.push(p.durationMs));
    await waitFor(async () => sum(await profiles.loadCheckpoint()) === events.length, { timeoutMs: 90_000, intervalMs: 100, what: 'the checkpoint to cover every event' });
    const coveredAfter = Date.now() - stoppedAt;
    const bound = Math.max(10_000, 2 * Math.max(...passes) + 2_000);
    expect(coveredAfter, `covered ${coveredAfter} ms after the load; passes since took ${passes.join(', ')} ms; advances every ${gaps.join(', ')} ms`).toBeLessThanOrEqual(bound);

    // After that, 700 more events reach Redis but not MongoDB; then Redis is lost: only those 700 are replayed.
    await sync.stop();
    const later = eventFile(700, 100, 66).map((e) => ({ ...e, eventId: `later-${e.eventId}` }));
    await produce(kafka, topic, later.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [topic]);
    await processor.stop();
    await redis.restartEmpty();
    const recovered = await recover({ store, profiles, kafka, config, logger }, { force: true });
    expect(recovered.replayed).toBe(later.length);
    const expected = referenceStates([...events, ...later], config.features);
    const users = [...expected.keys()];
    const states = await createReadThroughStore(store, profiles).loadMany(users);
    users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
  }, 300_000);

  it('applies a static profile to Redis at once, never lets an older one win, and the sync carries it to MongoDB', async () => {
    const { config, kafka, store, profiles, newSync } = await setup();
    await produce(kafka, config.kafka.topics.profile, [
      { key: 'vip-1', value: JSON.stringify({ userId: 'vip-1', version: 4, vip: true, status: 'gold-member' }) },
      { key: 'vip-1', value: JSON.stringify({ userId: 'vip-1', version: 3, vip: false, status: 'closed' }) },
    ]);
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.profile]);
    const [online] = await store.loadMany(['vip-1']);
    expect(online).toMatchObject({ vip: true, status: 'gold-member', profileVersion: 4 });
    expect(await profiles.findMany(['vip-1'])).toEqual([undefined]);
    await newSync().runOnce();
    const [durable] = await profiles.findMany(['vip-1']);
    expect(durable!.snapshot.state).toMatchObject({ vip: true, status: 'gold-member', profileVersion: 4 });
  });

  it('finishes the claims of a sync instance that died holding them, once their lease ends', async () => {
    const { config, kafka, store, profiles, newSync } = await setup();
    const events = eventFile(2_000, 50, 65);
    await produce(kafka, config.kafka.topics.activity, events.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);
    // The dying instance: it claims everything, then is gone before writing anything.
    const dead = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 1000), keyPrefix: config.redis.keyPrefix, params: config.features });
    const claimed = await dead.claimDirty(1000, config.sync.leaseMs, Date.now());
    await dead.close();
    expect(claimed.length).toBe(50);

    const survivor = newSync();
    await survivor.runOnce();
    expect((await store.dirtyBacklog()).claimed).toBe(50); // still the dead instance's, within its lease
    await waitFor(async () => {
      await survivor.runOnce();
      return (await store.dirtyBacklog()).claimed === 0;
    }, { timeoutMs: 15_000, intervalMs: 250, what: 'the survivor to take over the expired claims' });
    await expectMongoMatchesRedis(store, profiles, claimed);
  });
});
