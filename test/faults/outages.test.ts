/**
 * Dependencies going away while the processor and the sync run, each on a
 * server of the test's own (fault-tests rows 6, 11, 17 and 43): a Kafka broker
 * killed with kill -9 and back after 20 s; Redis shut down for 30 s and back
 * empty; Redis full under noeviction; MongoDB killed and restarted while the
 * sync writes. Each ends with
 * every user's state equal to the reference model, nothing lost or doubled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { evictionVerdict } from '../../src/stores/redis-eviction.js';
import { createReadThroughStore } from '../../src/stores/read-through-store.js';
import type { Config } from '../../src/config.js';
import { committedOffsets, processorGroups } from '../../src/ingest/offsets.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { expectSameState } from '../support/events.js';
import { startPrivateRedis } from '../support/private-redis.js';
import { startPrivateServer } from '../support/private-server.js';
import { startRunningService } from '../support/running-service.js';
import { caughtUp, eventFile, isolatedConfig, produce, referenceStates, toMessage, waitCaughtUp } from '../support/processor-harness.js';
import { waitFor } from '../support/wait-for.js';

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, n) => a + n, 0);

describe('dependency outages while running', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  /** The processor (supervised) and a sync over `config`'s servers, stopped after the test. */
  async function run(config: Config, opts: { sync?: boolean } = {}) {
    const service = await startRunningService(config, { sync: opts.sync === false ? false : { batchSize: 200, leaseMs: 3_000, intervalMs: 100, breaker: { failures: 3, halfOpenAfterMs: 1_000 } } });
    cleanup.push(() => service.stop());
    return service;
  }

  async function expectReferenceState(store: UserStateStore, events: Parameters<typeof referenceStates>[0], config: Config): Promise<void> {
    const expected = referenceStates(events, config.features);
    const users = [...expected.keys()];
    const states = await store.loadMany(users);
    users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
  }

  async function dlqCount(kafka: Kafka, topic: string): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((a, p) => a + Number(p.high), 0);
    } finally {
      await admin.disconnect();
    }
  }

  it('row 6: a broker killed with kill -9 and back after 20 s; the processor resumes from its committed offsets; nothing lost or doubled', async () => {
    const broker = await startPrivateServer('kafka');
    cleanup.push(() => broker.stop());
    const config = isolatedConfig({ KAFKA_BROKERS: broker.address });
    const { kafka, store } = await run(config, { sync: false });
    const events = eventFile(30_000, 300, 81);
    await produce(kafka, config.kafka.topics.activity, events.slice(0, 10_000).map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 60_000);
    // A second third in flight when the broker dies.
    await produce(kafka, config.kafka.topics.activity, events.slice(10_000, 20_000).map(toMessage));
    broker.kill9();
    // The outage lasts 20 s (fault-tests row 6); this is its length, not a wait for a condition.
    await sleep(20_000);
    await broker.restart();
    await produce(kafka, config.kafka.topics.activity, events.slice(20_000).map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 120_000);
    await expectReferenceState(store, events, config);
    expect(await dlqCount(kafka, config.kafka.topics.activityDlq)).toBe(0);
  }, 300_000);

  it('row 11: Redis shut down for 30 s: writes fail fast, nothing is committed for unapplied events, and the state comes back exact', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const config = isolatedConfig({ REDIS_URL: redis.url });
    const { kafka, store, profiles, supervisor } = await run(config);
    const events = eventFile(30_000, 300, 82);
    await produce(kafka, config.kafka.topics.activity, events.slice(0, 15_000).map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 60_000);
    await waitFor(async () => sum(await profiles.loadCheckpoint()) === 15_000, { timeoutMs: 30_000, intervalMs: 100, what: 'a checkpoint covering the first half' });

    const groups = processorGroups(config.processor.groupId, config.kafka.topics);
    const producing = produce(kafka, config.kafka.topics.activity, events.slice(15_000).map(toMessage));
    await waitFor(async () => !(await caughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity])), { timeoutMs: 10_000, intervalMs: 5, what: 'the second half to be in flight' });
    await redis.shutdown();
    const downAt = Date.now();
    await producing;
    // A command fails within its timeout instead of queueing for ever.
    const started = Date.now();
    await expect(store.loadMany(['user-1'])).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);
    // Batches whose write finished before the shutdown may still commit; after that, nothing may.
    await sleep(2_000);
    const held = sum(await committedOffsets(kafka, groups));
    expect(held).toBeLessThan(30_000);
    while (Date.now() - downAt < 30_000) {
      expect(sum(await committedOffsets(kafka, groups))).toBe(held);
      await sleep(1_000); // sampling through the outage, whose length is the point
    }
    await redis.start();
    await waitFor(() => supervisor.recoveries >= 1, { timeoutMs: 60_000, intervalMs: 100, what: 'the processor to notice the empty Redis and recover' });
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 120_000);
    // Users no event touched since the recovery are restored when read (recovery.ts).
    await expectReferenceState(createReadThroughStore(store, profiles), events, config);
  }, 300_000);

  it('row 43: Redis full under noeviction: the processor holds, commits nothing, dead-letters nothing, and resumes once memory frees', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const admin = new Redis(redis.url);
    cleanup.push(async () => void admin.disconnect());
    const config = isolatedConfig({ REDIS_URL: redis.url });
    const { kafka, store } = await run(config, { sync: false });
    const events = eventFile(8_000, 400, 43);
    await produce(kafka, config.kafka.topics.activity, events.slice(0, 3_000).map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 60_000);
    const groups = processorGroups(config.processor.groupId, config.kafka.topics);
    const before = sum(await committedOffsets(kafka, groups));

    // Full: every write is refused with OOM from now on (reads and PING still answer).
    const refusals = async () => Number(/errorstat_OOM:count=(\d+)/.exec(await admin.info('errorstats'))?.[1] ?? 0);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    await produce(kafka, config.kafka.topics.activity, events.slice(3_000).map(toMessage));
    await waitFor(async () => (await refusals()) >= 3, { timeoutMs: 30_000, intervalMs: 100, what: 'the processor to be refused by the full Redis, and to try again' });
    // Held well past its retries: nothing committed, nothing handed on to the retry topic or the dead letters.
    const heldSince = Date.now();
    while (Date.now() - heldSince < 10_000) {
      expect(sum(await committedOffsets(kafka, groups))).toBe(before);
      await sleep(1_000); // sampling through the hold, whose length is the point
    }
    expect(await refusals()).toBeGreaterThan(3);
    expect(await dlqCount(kafka, config.kafka.topics.activityDlq)).toBe(0);
    expect(await dlqCount(kafka, config.kafka.topics.activityRetry)).toBe(0);

    await admin.config('SET', 'maxmemory', '0');
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 120_000);
    await expectReferenceState(store, events, config);
    expect(await dlqCount(kafka, config.kafka.topics.activityDlq)).toBe(0);
    expect(await dlqCount(kafka, config.kafka.topics.activityRetry)).toBe(0);
  }, 300_000);

  it('row 43: an eviction policy that could drop a dirty user, the dirty index or the generation is told apart from the safe ones', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const admin = new Redis(redis.url);
    cleanup.push(async () => void admin.disconnect());
    const verdicts: Record<string, number> = {};
    for (const policy of ['noeviction', 'volatile-lru', 'volatile-ttl', 'allkeys-lru', 'allkeys-random']) {
      await admin.config('SET', 'maxmemory-policy', policy);
      const verdict = await evictionVerdict(admin);
      expect(Object.values(verdict.policies)).toEqual([policy]);
      verdicts[policy] = verdict.unsafe.length;
    }
    expect(verdicts).toEqual({ noeviction: 0, 'volatile-lru': 0, 'volatile-ttl': 0, 'allkeys-lru': 1, 'allkeys-random': 1 });
  });

  it('row 17: MongoDB killed and restarted while the sync writes: every user ends at its newest version, once, never set back', async () => {
    const mongo = await startPrivateServer('mongo');
    cleanup.push(() => mongo.stop());
    const config = isolatedConfig({ MONGO_URL: mongo.address });
    const { kafka, store, profiles, sync } = await run(config);
    const events = eventFile(20_000, 500, 83);
    const users = [...new Set(events.map((e) => e.userId))];
    await produce(kafka, config.kafka.topics.activity, events.map(toMessage));
    // Mid-write: some users already written, others still waiting.
    await waitFor(async () => (await profiles.findMany(users)).filter(Boolean).length > 100, { timeoutMs: 60_000, intervalMs: 200, what: 'the sync to be writing' });
    mongo.kill9();
    const seen = new Map<string, number>();
    const setBack: string[] = [];
    await mongo.restart();
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 120_000);
    let progress = '';
    await waitFor(async () => {
      // The check's own reads may fail while the restarted server comes back: that is not the service's answer.
      const read = await Promise.all([store.exportMany(users), profiles.findMany(users)]).catch((error: unknown) => ((progress = String(error)), undefined));
      if (!read) return false;
      const [online, durable] = read;
      durable.forEach((p, i) => {
        if (p && p.version < (seen.get(users[i]!) ?? -1)) setBack.push(users[i]!);
        if (p) seen.set(users[i]!, p.version);
      });
      const b = await store.dirtyBacklog();
      const behind = users.filter((_, i) => durable[i]?.version !== online[i]!.state.version).length;
      progress = `${behind} users behind, ${b.dirty} dirty, ${b.claimed} claimed, breaker ${sync!.breakerState}`;
      return b.dirty === 0 && b.claimed === 0 && behind === 0;
    }, { timeoutMs: 120_000, intervalMs: 2_000, what: 'MongoDB to hold every user’s newest version' }).catch((error: unknown) => {
      throw new Error(`${String(error)} (${progress})`);
    });
    expect(setBack).toEqual([]);
    expect(sync!.breakerState).toBe('closed');
    await expectReferenceState(store, events, config);
    const durable = await profiles.findMany(users);
    const expected = referenceStates(events, config.features);
    users.forEach((id, i) => expectSameState(durable[i]!.snapshot.state, expected.get(id), 1e-9, { bookkeeping: false }));
    const client = await MongoClient.connect(config.mongo.url);
    cleanup.push(() => client.close());
    expect(await client.db(config.mongo.db).collection('user_profiles').countDocuments()).toBe(users.length);
  }, 300_000);
});
