import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/features/activity.js';
import { DEFAULT_FEATURE_PARAMS } from '../../src/features/params.js';
import { createMemoryProfileStore } from '../../src/stores/memory-profile-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import type { ProfileStore } from '../../src/stores/profile.js';
import { createSync, type SyncOptions } from '../../src/sync/sync.js';
import { DependencyRejectedError } from '../../src/errors.js';
import { waitFor } from '../support/wait-for.js';
import { delivered } from '../support/events.js';
import type { UserSnapshot } from '../../src/contracts/user-snapshot.js';

const T0 = Date.UTC(2026, 10, 20);
const event = (id: string, userId: string): ActivityEvent => ({ eventId: id, userId, type: 'CLICK', itemId: 'i', occurredAt: T0 });

function setup(profiles: ProfileStore = createMemoryProfileStore(), offsets?: () => Promise<Record<string, number>>, extra: Partial<SyncOptions> = {}) {
  let now = 1_000;
  const store = createMemoryUserStateStore(DEFAULT_FEATURE_PARAMS, { clock: () => now });
  void store.markOnline('g1');
  const sync = createSync({ store, profiles, offsets, batchSize: 2, leaseMs: 10_000, intervalMs: 1_000, breaker: { failures: 2, halfOpenAfterMs: 50 }, clock: () => now, ...extra });
  const errors: unknown[] = [];
  sync.on('error', (e) => errors.push(e));
  return { store, profiles, sync, errors, tick: (ms: number) => (now += ms) };
}

describe('sync', () => {
  it('writes every dirty user’s snapshot, in batches, and leaves nothing claimed', async () => {
    const { store, profiles, sync } = setup();
    await store.applyEvents(delivered(['a', 'b', 'c', 'd', 'e'].map((u) => event(`${u}1`, u))), 500);
    await sync.runOnce();
    expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
    const stored = await profiles.findMany(['a', 'e']);
    const exported = await store.exportMany(['a', 'e']);
    expect(stored.map((p) => p?.snapshot)).toEqual(exported);
  });

  it('leaves claims of failed writes to come back after their lease, and opens its breaker', async () => {
    const real = createMemoryProfileStore();
    let down = true;
    const flaky: ProfileStore = { ...real, upsertIfNewer: (p) => (down ? Promise.reject(new Error('mongo down')) : real.upsertIfNewer(p)) };
    const { store, sync, tick } = setup(flaky);
    await store.applyEvents(delivered(['a', 'b', 'c'].map((u) => event(`${u}1`, u))), 500);
    await sync.runOnce();
    expect(sync.breakerState).toBe('open');
    expect(await store.dirtyBacklog()).toMatchObject({ dirty: 1, claimed: 2 });
    down = false;
    // Each pass starts past the last leases; the breaker lets one probe through after its
    // half-open delay (real time), and closes when it succeeds.
    await waitFor(async () => (tick(10_001), await sync.runOnce(), sync.breakerState === 'closed'), { timeoutMs: 5_000, what: 'the breaker to close' });
    tick(10_001);
    await sync.runOnce();
    expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
    expect((await real.findMany(['a', 'b', 'c'])).every((p) => p?.version === 1)).toBe(true);
  });

  it('records offsets only once every user dirty when they were read has been written', async () => {
    let committed = { 'topic/0': 10 };
    const { store, profiles, sync, tick } = setup(createMemoryProfileStore(), async () => committed);
    await store.applyEvents(delivered([event('a1', 'a')]), 900);
    const held = await store.claimDirty(1, 100_000, 950); // another instance holds a's claim
    expect(held).toEqual(['a']);
    await sync.runOnce();
    expect(await profiles.loadCheckpoint()).toEqual({}); // a, dirty since 900, is not written yet
    committed = { 'topic/0': 20 };
    tick(10);
    await store.completeClaims(['a']); // the other instance wrote it
    await sync.runOnce();
    expect(await profiles.loadCheckpoint()).toEqual({ 'topic/0': 20 });
  });

  it('ends its pass and records offsets while traffic keeps users dirty', async () => {
    // Every write to MongoDB lands while the processor changes another user: the dirty set is never empty.
    let committed = 0;
    const real = createMemoryProfileStore();
    let writes = 0;
    let onWrite = async () => {};
    const busy: ProfileStore = { ...real, upsertIfNewer: async (p) => (writes++, await onWrite(), real.upsertIfNewer(p)) };
    const { store, profiles, sync, tick } = setup(busy, async () => ({ 'topic/0': committed }));
    const recorded: number[] = [];
    const holds: string[] = [];
    sync.on('checkpoint', (o) => recorded.push(o['topic/0']!));
    sync.on('held', (h) => holds.push(h.reason));
    const users = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    let n = 0;
    onWrite = async () => {
      await new Promise((resolve) => setImmediate(resolve)); // lets the test's timeout fire on a pass that never ends
      tick(1);
      n++;
      await store.applyEvents(delivered([event(`s${n}`, users[n % users.length]!)]), 1_000 + n);
      committed = n;
    };
    await store.applyEvents(delivered(users.map((u) => event(`${u}0`, u))), 900);
    for (let pass = 0; pass < 5; pass++) {
      const before = writes;
      await sync.runOnce(); // on a sync that waits for an empty dirty set, this never returns
      // A pass writes the users dirty at its start (seven, two at a time) and leaves later changes to the next.
      expect(writes - before).toBeLessThanOrEqual(users.length + 1);
      expect((await store.dirtyBacklog()).dirty).toBeGreaterThan(0);
      tick(10);
    }
    // From the second pass on, each pass records the offsets read at the start of the one before.
    expect(recorded.length).toBeGreaterThanOrEqual(4);
    expect(recorded).toEqual([...recorded].sort((x, y) => x - y));
    expect(recorded.at(-1)).toBeGreaterThan(recorded[0]!);
    expect((await profiles.loadCheckpoint())['topic/0']).toBe(recorded.at(-1));
    expect(holds).toEqual([]);
  });

  it('says which rule holds the checkpoint back', async () => {
    const { store, sync } = setup(createMemoryProfileStore(), async () => ({ 'topic/0': 3 }));
    const holds: { reason: string; since: number }[] = [];
    sync.on('held', (h) => holds.push(h));
    await store.applyEvents(delivered([event('a1', 'a')]), 900);
    await store.claimDirty(1, 100_000, 950); // another instance holds a's claim
    await sync.runOnce();
    expect(holds).toEqual([{ reason: 'unsynced-users', since: 1_000 }]);
  });

  it('records no offsets read before Redis lost its state, nor while it has no generation', async () => {
    let committed = { 'topic/0': 10 };
    const { store, profiles, sync, tick } = setup(createMemoryProfileStore(), async () => committed);
    await store.applyEvents(delivered([event('a1', 'a')]), 900);
    await store.claimDirty(1, 100_000, 950); // another instance holds a's claim: no checkpoint yet
    await sync.runOnce();
    // Redis restarts empty: a's claim and dirty mark are gone with it, not written.
    const lost = createMemoryUserStateStore(DEFAULT_FEATURE_PARAMS, { clock: () => Date.now() });
    Object.assign(store, { dirtyBacklog: () => lost.dirtyBacklog(), claimDirty: (max: number, lease: number, now: number) => lost.claimDirty(max, lease, now), generation: () => lost.generation() });
    committed = { 'topic/0': 20 };
    tick(10);
    await sync.runOnce();
    expect(await profiles.loadCheckpoint()).toEqual({});
    // Recovered under a new generation, with nothing dirty: offsets read from then on count.
    await lost.markOnline('g2');
    committed = { 'topic/0': 30 };
    tick(10);
    await sync.runOnce();
    expect(await profiles.loadCheckpoint()).toEqual({ 'topic/0': 30 });
  });

  it('rewrites a copy that a late write set back, and records no offsets until it has', async () => {
    const real = createMemoryProfileStore();
    let timeoutsLeft = 1;
    let behind = false;
    let lateWriteLands = false;
    // A write times out but the server still applies it, just after the retry that succeeded,
    // setting the copy back a version (FerretDB does not apply one document's update atomically).
    const ghostly: ProfileStore = {
      ...real,
      upsertIfNewer: async (p) => {
        if (timeoutsLeft-- > 0) {
          lateWriteLands = true;
          throw new Error('socket timeout');
        }
        behind = lateWriteLands;
        lateWriteLands = false;
        return real.upsertIfNewer(p);
      },
      findMany: async (ids) => (await real.findMany(ids)).map((p) => p && (behind ? { ...p, version: p.version - 1 } : p)),
    };
    const { store, profiles, sync, tick } = setup(ghostly, async () => ({ 'topic/0': 5 }));
    const rewrites: number[] = [];
    sync.on('pass', (p) => rewrites.push(p.rewritten));
    await store.applyEvents(delivered([event('a1', 'a')]), 500);
    await sync.runOnce(); // the write times out: a is uncertain, its claim stays
    expect(rewrites).toEqual([0]);
    tick(10_001);
    await sync.runOnce(); // a is claimed and written again; the late write then sets it back; settling finds and rewrites it
    expect(rewrites.at(-1)).toBe(1);
    expect(await profiles.loadCheckpoint()).toEqual({}); // still uncertain: no offsets yet
    tick(2_001);
    await sync.runOnce(); // found equal: settled, and the offsets are recorded
    expect(rewrites.at(-1)).toBe(0);
    expect(await profiles.loadCheckpoint()).toEqual({ 'topic/0': 5 });
    expect((await profiles.findMany(['a']))[0]?.version).toBe(1);
  });

  describe('parks a user whose write keeps failing, so that checkpoints move on', () => {
    /** A MongoDB that refuses `bad` with `error` and takes everyone else. */
    function refusing(error: () => Error) {
      const real = createMemoryProfileStore();
      const profiles: ProfileStore = { ...real, upsertIfNewer: (p) => (p.userId === 'bad' ? Promise.reject(error()) : real.upsertIfNewer(p)) };
      const parked: { userId: string; snapshot: UserSnapshot; error: unknown }[] = [];
      const park = async (userId: string, snapshot: UserSnapshot, e: unknown) => void parked.push({ userId, snapshot, error: e });
      return { real, profiles, parked, park };
    }

    it('at once when MongoDB refuses it for good', async () => {
      const { real, profiles, parked, park } = refusing(() => new DependencyRejectedError('mongodb', new Error('document too large')));
      const { store, sync } = setup(profiles, async () => ({ 'topic/0': 7 }), { park, breaker: { failures: 5, halfOpenAfterMs: 50 } });
      await store.applyEvents(delivered(['bad', 'a', 'b'].map((u) => event(`${u}1`, u))), 500);
      await sync.runOnce();
      await sync.runOnce();
      expect(parked.map((p) => [p.userId, p.snapshot.state.version])).toEqual([['bad', 1]]);
      expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
      expect(await real.loadCheckpoint()).toEqual({ 'topic/0': 7 });
    });

    it('after `parkAfter` passes when it keeps failing while others succeed, and never during an outage', async () => {
      const { profiles, parked, park } = refusing(() => new Error('socket hang up'));
      let outage = false;
      const flaky: ProfileStore = { ...profiles, upsertIfNewer: (p) => (outage ? Promise.reject(new Error('mongo down')) : profiles.upsertIfNewer(p)) };
      const { store, sync, tick } = setup(flaky, undefined, { park, parkAfter: 3, breaker: { failures: 50, halfOpenAfterMs: 50 }, settleMs: 0 });
      // Ten passes of an outage first: everybody fails, so nobody is to blame.
      outage = true;
      for (let n = 0; n < 10; n++) {
        await store.applyEvents(delivered([event(`bad-o${n}`, 'bad'), event(`a-o${n}`, 'a')]), 500 + n);
        await sync.runOnce();
        tick(10_001);
      }
      expect(parked).toEqual([]);
      outage = false;
      for (let n = 0; n < 2; n++) {
        await store.applyEvents(delivered([event(`a${n}`, 'a')]), 700 + n);
        await sync.runOnce();
        tick(10_001);
      }
      expect(parked).toEqual([]);
      await store.applyEvents(delivered([event('a9', 'a')]), 900);
      await sync.runOnce();
      expect(parked.map((p) => p.userId)).toEqual(['bad']);
      expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
    });
  });
});
