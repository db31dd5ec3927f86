/**
 * Redis restarted empty while the service runs (fault-tests rows 12 and 36):
 * kill -9 under load, a new empty server on the same port, the processor,
 * the sync and the API read path left running. The loss must be noticed, the
 * API must serve MongoDB's copy meanwhile (never the partial state), and the
 * recovered state must equal the reference model.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createReadThroughStore } from '../../src/stores/read-through-store.js';
import type { UserState } from '../../src/stores/user-state.js';
import { expectSameState } from '../support/events.js';
import { startPrivateRedis } from '../support/private-redis.js';
import { caughtUp, eventFile, isolatedConfig, produce, referenceStates, toMessage, waitCaughtUp } from '../support/processor-harness.js';
import { startRunningService } from '../support/running-service.js';
import { waitFor } from '../support/wait-for.js';

describe('Redis restarted empty while running', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  it('is noticed; the API serves MongoDB meanwhile; the state is restored and replayed to exactly the reference model', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const config = isolatedConfig({ REDIS_URL: redis.url });
    const service = await startRunningService(config);
    const { kafka, store, profiles, supervisor } = service;
    cleanup.push(() => service.stop());

    const events = eventFile(40_000, 400, 71);
    await produce(kafka, config.kafka.topics.activity, events.slice(0, 20_000).map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 60_000);
    // The sync has copied everyone and recorded a checkpoint covering the first half.
    await waitFor(async () => {
      const b = await store.dirtyBacklog();
      const checkpoint = Object.values(await profiles.loadCheckpoint()).reduce((a, n) => a + n, 0);
      return b.dirty === 0 && b.claimed === 0 && checkpoint === 20_000;
    }, { timeoutMs: 60_000, intervalMs: 100, what: 'the sync to copy the first half and record its checkpoint' });

    // The API's read path, polled through the outage: whatever it serves without a generation comes from MongoDB.
    let fromMongo = 0;
    const readThrough = createReadThroughStore(store, profiles, undefined, { generationTtlMs: 0, onDegraded: (n) => (fromMongo += n) });
    const watched = [...new Set(events.slice(0, 20_000).map((e) => e.userId))].slice(0, 50);
    const durableBefore = new Map((await profiles.findMany(watched)).map((p, i) => [watched[i]!, p!.snapshot.state]));
    const partial: string[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const states = await readThrough.loadMany(watched).catch(() => [] as (UserState | undefined)[]);
        states.forEach((st, i) => {
          if (st?.fromDurableCopy && st.version < durableBefore.get(watched[i]!)!.version) partial.push(watched[i]!);
        });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    // Under load: the second half streams in while Redis is killed and comes back empty.
    const producing = produce(kafka, config.kafka.topics.activity, events.slice(20_000).map(toMessage));
    await waitFor(async () => !(await caughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity])), { timeoutMs: 10_000, intervalMs: 5, what: 'the second half to be in flight' });
    await redis.restartEmpty();
    await producing;
    await waitFor(() => supervisor.recoveries >= 1 && fromMongo > 0, { timeoutMs: 60_000, intervalMs: 50, what: 'the loss to be noticed and the API to serve MongoDB' });
    await waitFor(async () => (await store.generation()) !== undefined, { timeoutMs: 60_000, intervalMs: 100, what: 'the recovery to finish' });
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 120_000);
    polling = false;
    await poll;
    expect(partial).toEqual([]);

    const expected = referenceStates(events, config.features);
    const users = [...expected.keys()];
    // Users the replay and the live events after it did not touch are restored when read (recovery.ts).
    const states = await readThrough.loadMany(users);
    users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
  }, 240_000);
});
