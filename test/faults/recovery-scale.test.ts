/**
 * Recovery that scales with what came after the checkpoint, not with the
 * users MongoDB holds: with 100,000 users in MongoDB, a Redis lost empty is
 * online again within 10 s (no scan of MongoDB), reads are answered from
 * MongoDB meanwhile and after, and every user ends as the reference model
 * (those the replay touched) or as its durable copy (the rest).
 */
import { Binary, MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { createProcessor } from '../../src/ingest/processor.js';
import { committedOffsets, processorGroups } from '../../src/ingest/offsets.js';
import { ensureOnline } from '../../src/ingest/recovery.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMongoProfileStore } from '../../src/stores/mongo-profile-store.js';
import { createReadThroughStore } from '../../src/stores/read-through-store.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { createSync } from '../../src/sync/sync.js';
import { expectSameState } from '../support/events.js';
import { startPrivateRedis } from '../support/private-redis.js';
import { eventFile, isolatedConfig, produce, referenceStates, toMessage, waitCaughtUp } from '../support/processor-harness.js';

const logger = createLogger('silent');
const CLONES = 100_000;

describe('recovery at scale', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  it('is online within 10 s of a Redis loss with 100,000 users in MongoDB, and every user reads back exact', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const config = isolatedConfig({ REDIS_URL: redis.url });
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 5000), keyPrefix: config.redis.keyPrefix, params: config.features });
    const profiles = await createMongoProfileStore({ url: config.mongo.url, db: config.mongo.db });
    await profiles.init();
    await store.markOnline('before');
    const mongo = new MongoClient(config.mongo.url);
    cleanup.push(async () => {
      await mongo.db(config.mongo.db).dropDatabase().catch(() => undefined);
      await mongo.close();
      await Promise.allSettled([store.close(), profiles.close()]);
    });
    const processor = createProcessor({ kafka, store, config, logger });
    await processor.start();
    const topic = config.kafka.topics.activity;

    // 200 real users, synced with a checkpoint; then 100,000 more users' documents, copies of one of them.
    const synced = eventFile(6_000, 200, 71);
    await produce(kafka, topic, synced.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [topic]);
    const sync = createSync({ store, profiles, offsets: () => committedOffsets(kafka, processorGroups(config.processor.groupId, config.kafka.topics)), batchSize: 500, leaseMs: 5_000, intervalMs: 100 });
    await sync.runOnce();
    await sync.runOnce();
    const users = mongo.db(config.mongo.db).collection<{ _id: string } & Record<string, unknown>>('user_profiles');
    const model = (await users.findOne({ _id: synced[0]!.userId }))!;
    for (let b = 0; b < CLONES; b += 5_000) {
      await users.insertMany(Array.from({ length: 5_000 }, (_, i) => ({ ...model, _id: `clone-${b + i}`, seenIds: new Binary((model.seenIds as Binary).buffer) })), { ordered: false });
    }
    // Events after the checkpoint, for 100 of the real users: these are replayed.
    const later = eventFile(2_000, 100, 72).map((e) => ({ ...e, eventId: `later-${e.eventId}` }));
    await produce(kafka, topic, later.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [topic]);
    await processor.stop();

    await redis.restartEmpty();
    const readThrough = createReadThroughStore(store, profiles, undefined, { generationTtlMs: 0 });
    const reading = readThrough.loadMany(['clone-7', synced[0]!.userId]); // answered from MongoDB while recovering
    const started = Date.now();
    await ensureOnline({ store, profiles, kafka, config, logger });
    const timeToOnline = Date.now() - started;
    expect(timeToOnline, `online ${timeToOnline} ms after the loss`).toBeLessThanOrEqual(10_000);
    const [clone, real] = await reading;
    expect(clone).toMatchObject({ version: model.version, fromDurableCopy: true });
    expect(real?.version).toBeGreaterThan(0);

    const expected = referenceStates([...synced, ...later], config.features);
    const ids = [...expected.keys()];
    const states = await readThrough.loadMany(ids);
    ids.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
    const clones = await readThrough.loadMany(['clone-0', 'clone-54321', `clone-${CLONES - 1}`]);
    const copy = (await profiles.findMany([synced[0]!.userId]))[0]!.snapshot.state;
    for (const c of clones) expectSameState(c, copy, 0, { bookkeeping: false });
  }, 300_000);
});
