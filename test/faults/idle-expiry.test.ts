/**
 * Redis as the hot set, on the real servers (fault-tests row 50): users the
 * sync has written leave Redis once idle for REDIS_IDLE_TTL (5 s here), every
 * key of theirs; their next events restore them from MongoDB before applying,
 * re-sends of ids they had before they left included, so every user ends as
 * the reference model says; with MongoDB frozen such an event waits,
 * uncommitted, and is never applied to an empty state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { ActivityEvent } from '../../src/features/activity.js';
import { committedOffsets, processorGroups } from '../../src/ingest/offsets.js';
import { redisKeys, userKeyList } from '../../src/stores/keys.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { expectSameState } from '../support/events.js';
import { startPrivateServer } from '../support/private-server.js';
import { startRunningService } from '../support/running-service.js';
import { eventFile, isolatedConfig, produce, referenceStates, toMessage, waitCaughtUp } from '../support/processor-harness.js';
import { servers } from '../support/servers.js';
import { waitFor } from '../support/wait-for.js';

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, n) => a + n, 0);

describe('idle users leave Redis and come back exactly', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  async function start(config: Config) {
    const service = await startRunningService(config, { sync: { batchSize: 200, leaseMs: 3_000, intervalMs: 200 } });
    cleanup.push(() => service.stop());
    const probe = new Redis(config.redis.url);
    cleanup.push(async () => void probe.disconnect());
    /** How many of `users`' keys Redis still holds. */
    const keysLeft = async (users: readonly string[]) => {
      const keys = redisKeys(config.redis.keyPrefix);
      let n = 0;
      for (const u of users) n += await probe.exists(...userKeyList(keys.user(u)));
      return n;
    };
    return { ...service, keysLeft };
  }

  async function expectReferenceState(store: UserStateStore, events: readonly ActivityEvent[], config: Config): Promise<void> {
    const expected = referenceStates(events, config.features);
    const users = [...expected.keys()];
    const states = await store.loadMany(users);
    users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
  }

  it('row 50: users idle past the TTL leave Redis whole; their next events, re-sends of older ids among them, restore them first and count once', async () => {
    const config = isolatedConfig({ REDIS_IDLE_TTL: '5s' });
    const { kafka, store, keysLeft } = await start(config);
    const topic = config.kafka.topics.activity;
    const first = eventFile(4_000, 120, 501);
    const users = [...new Set(first.map((e) => e.userId))];
    await produce(kafka, topic, first.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [topic]);
    const before = await store.loadMany(users);
    expect(before.every((s) => s !== undefined && s.version > 0)).toBe(true);
    // Written by the sync, then 5 s untouched: every key of every user goes (0 bytes of Redis for an idle user).
    await waitFor(async () => (await keysLeft(users)) === 0, { timeoutMs: 60_000, intervalMs: 250, what: 'every key of the idle users to leave Redis' });
    expect(await store.loadMany(users)).toEqual(users.map(() => undefined));

    // More events for the same users, and 1,000 re-sends of the first ids (new offsets, within the dedupe horizon).
    const second = eventFile(3_000, 120, 502);
    const resends = first.slice(0, 1_000);
    await produce(kafka, topic, [...second.slice(0, 1_500), ...resends, ...second.slice(1_500)].map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [topic]);
    await expectReferenceState(store, [...first, ...second], config);
    // Versions went on from the durable copy, not from zero.
    const after = await store.loadMany(users);
    users.forEach((u, i) => expect(after[i]!.version).toBeGreaterThan(before[i]!.version));
  }, 300_000);

  it('row 50: with MongoDB frozen, an expired user’s event waits uncommitted and is never applied to an empty state; it applies once MongoDB answers', async () => {
    const mongo = await startPrivateServer('mongo');
    cleanup.push(() => mongo.stop());
    const config = isolatedConfig({ REDIS_IDLE_TTL: '5s', MONGO_URL: mongo.address, REDIS_URL: servers().REDIS_URL });
    const { kafka, store, keysLeft } = await start(config);
    const topic = config.kafka.topics.activity;
    const first = eventFile(1_500, 40, 503);
    const users = [...new Set(first.map((e) => e.userId))];
    await produce(kafka, topic, first.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [topic]);
    await waitFor(async () => (await keysLeft(users)) === 0, { timeoutMs: 60_000, intervalMs: 250, what: 'the idle users to leave Redis' });
    const groups = processorGroups(config.processor.groupId, config.kafka.topics);
    const committed = sum(await committedOffsets(kafka, groups));

    process.kill(mongo.pid, 'SIGSTOP');
    cleanup.push(async () => void process.kill(mongo.pid, 'SIGCONT'));
    const second = eventFile(200, 40, 504);
    await produce(kafka, topic, second.map(toMessage));
    // Frozen for 15 s, past the processor's retries: nothing committed, and no user rebuilt from nothing.
    const frozenAt = Date.now();
    while (Date.now() - frozenAt < 15_000) {
      expect(sum(await committedOffsets(kafka, groups))).toBe(committed);
      expect(await keysLeft(users)).toBe(0);
      await sleep(1_000); // sampling through the freeze, whose length is the point
    }
    process.kill(mongo.pid, 'SIGCONT');
    await waitCaughtUp(kafka, config.processor.groupId, [topic], 120_000);
    await expectReferenceState(store, [...first, ...second], config);
  }, 300_000);
});
