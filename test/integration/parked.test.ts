/**
 * A user MongoDB will not take is parked on its Kafka topic, so checkpoints
 * move on; `redriveParked` writes it back once MongoDB takes it again, and
 * only once. Real Kafka, Redis and MongoDB.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DependencyRejectedError } from '../../src/errors.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMongoProfileStore } from '../../src/stores/mongo-profile-store.js';
import type { ProfileStore } from '../../src/stores/profile.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { ParkedUser } from '../../src/contracts/user-snapshot.js';
import { parkedUsersTopic, redriveParked } from '../../src/sync/parked.js';
import { createSync } from '../../src/sync/sync.js';
import { delivered } from '../support/events.js';
import { eventFile, isolatedConfig, readAll } from '../support/processor-harness.js';

const logger = createLogger('silent');

describe('parked users', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  it('parks a user MongoDB refuses, records the checkpoint anyway, and re-drives it once MongoDB takes it', async () => {
    const config = isolatedConfig();
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 2000), keyPrefix: config.redis.keyPrefix, params: config.features });
    await store.markOnline('g1');
    const real = await createMongoProfileStore({ url: config.mongo.url, db: config.mongo.db });
    await real.init();
    let refusing = true;
    const profiles: ProfileStore = {
      ...real,
      upsertIfNewer: (p) => (refusing && p.userId === 'user-3' ? Promise.reject(new DependencyRejectedError('mongodb', new Error('document too large'))) : real.upsertIfNewer(p)),
    };
    const parked = parkedUsersTopic(kafka, config.kafka.topics.syncParked);
    cleanup.push(() => store.close(), () => real.close(), () => parked.close());

    await store.applyEvents(delivered(eventFile(500, 10, 41), Date.now()), Date.now());
    const sync = createSync({ store, profiles, offsets: async () => ({ 'activity/0': 500 }), batchSize: 100, leaseMs: 5_000, intervalMs: 1_000, park: (u, s, e) => parked.park(u, s, e) });
    sync.on('error', () => undefined);
    await sync.runOnce();
    await sync.runOnce();

    const [record] = (await readAll(kafka, config.kafka.topics.syncParked)).map((m) => JSON.parse(m.value!) as ParkedUser);
    const [online] = await store.exportMany(['user-3']);
    expect(record).toMatchObject({ userId: 'user-3', version: online!.state.version });
    expect(record!.error.message).toContain('document too large');
    expect(record!.snapshot).toEqual(JSON.parse(JSON.stringify(online)));
    expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
    expect(await real.loadCheckpoint()).toEqual({ 'activity/0': 500 });
    expect((await real.findMany(['user-3']))[0]).toBeUndefined();

    refusing = false;
    const groupId = `${config.processor.groupId}.redrive-parked`;
    expect(await redriveParked({ kafka, topic: config.kafka.topics.syncParked, groupId, profiles: real })).toEqual({ written: 1, stale: 0 });
    expect((await real.findMany(['user-3']))[0]?.version).toBe(online!.state.version);
    // Run again: nothing left to re-drive.
    expect(await redriveParked({ kafka, topic: config.kafka.topics.syncParked, groupId, profiles: real })).toEqual({ written: 0, stale: 0 });
  });
});
