/**
 * The sync's checkpoint rule against clocks that disagree across hosts:
 * offsets are recorded only once every user dirty when they were read has
 * been written, whichever process's clock is off. Dirty marks and the
 * sync's reading are both Redis' TIME (the real server), so a processor ten
 * minutes ahead, or a sync ten minutes behind, cannot make the sync record
 * offsets whose users are still unwritten (which a Redis loss would then
 * lose for good).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryProfileStore } from '../../src/stores/memory-profile-store.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { createSync } from '../../src/sync/sync.js';
import { delivered } from '../support/events.js';
import { isolatedConfig } from '../support/processor-harness.js';

const SKEW_MS = 10 * 60_000;

describe('sync checkpoints on one clock', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f();
  });

  it.each([
    ['a processor ten minutes ahead', SKEW_MS, 0],
    ['a sync ten minutes behind', 0, -SKEW_MS],
  ])('records no offsets while a user dirty before they were read is unwritten, with %s', async (_case, processorSkew, syncSkew) => {
    const config = isolatedConfig();
    const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 2000), keyPrefix: config.redis.keyPrefix, params: config.features });
    cleanup.push(() => store.close());
    await store.markOnline('clock-test');
    const profiles = createMemoryProfileStore();
    let committed = { 'user-activity/0': 10 };
    const sync = createSync({
      store,
      profiles,
      offsets: async () => committed,
      batchSize: 10,
      leaseMs: 60_000,
      intervalMs: 1_000,
      breaker: { failures: 3, halfOpenAfterMs: 1_000 },
      clock: () => Date.now() + syncSkew,
    });
    sync.on('error', () => undefined);

    // The processor applies a's event with its own clock, then another sync instance claims a and has not written it yet.
    const now = Date.now() + processorSkew;
    await store.applyEvents(delivered([{ eventId: 'a1', userId: 'a', type: 'CLICK', itemId: 'i1', occurredAt: now - 1000 }], now), now);
    expect(await store.claimDirty(10, 60_000, Date.now() + syncSkew)).toEqual(['a']);
    await sync.runOnce();
    expect(await profiles.loadCheckpoint()).toEqual({});

    // Once the other instance has written a, the next pass records the offsets it read.
    await store.completeClaims(['a']);
    committed = { 'user-activity/0': 20 };
    await sync.runOnce();
    expect(await profiles.loadCheckpoint()).toEqual({ 'user-activity/0': 20 });
  });
});
