/**
 * The contract every UserStateStore keeps, run against the Redis store
 * (integration) and its in-process twin (unit) alike. The central clause:
 * whatever the store does inside (a Lua script in Redis), the state it ends
 * with equals the reference model's (src/features/apply.ts).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/features/activity.js';
import { applyEvents, EMPTY_MEMORY, type Delivery } from '../../src/features/apply.js';
import { DEFAULT_FEATURE_PARAMS, type FeatureParams } from '../../src/features/params.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import { recentItemsOf } from '../../src/features/view.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { createMemoryProfileStore } from '../../src/stores/memory-profile-store.js';
import { createRestoringStore } from '../../src/stores/restoring-store.js';
import { waitFor } from '../support/wait-for.js';
import { ARRIVAL, arrive, delivered, digestsOf, expectSameState, modelRun, packedMemory, seenDigests, streamArb, T0, type ModelUser } from '../support/events.js';

const HOUR = 3_600_000;

// Caps small enough that the random streams below cross them (3 users, up to 80 events, 4 categories).
export const CONTRACT_PARAMS: FeatureParams = { ...DEFAULT_FEATURE_PARAMS, topCategories: 2, maxCategories: 3, maxSeenIds: 12 };
const NOW = T0 + 86_400_000;

const event = (eventId: string, userId: string, at: number, extra: Partial<ActivityEvent> = {}): ActivityEvent => ({
  eventId,
  userId,
  type: 'VIEW',
  itemId: 'item-1',
  category: 'books',
  occurredAt: at,
  ...extra,
});


export function userStateStoreContract(name: string, open: () => Promise<UserStateStore>): void {
  describe(`UserStateStore contract: ${name}`, () => {
    let store: UserStateStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('answers a ping and knows no one at first', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      expect(await store.loadMany(['nobody', 'ghost'])).toEqual([undefined, undefined]);
      expect(await store.loadMany([])).toEqual([]);
    });

    it('reports what each delivery was and the latest items before each batch, as the reference model does', async () => {
      let run = 0;
      // Arrivals up to 8 h apart: a stream spans days, so ids are forgotten on the way, as the model forgets them.
      await fc.assert(
        fc.asyncProperty(streamArb({ maxGapMs: 8 * HOUR, maxLength: 60, scope: () => `f${++run}-` }), async ({ batches }) => {
          const model = new Map<string, ModelUser>();
          for (const batch of batches) {
            const grouped = new Map<string, Delivery[]>();
            for (const d of batch) grouped.set(d.event.userId, [...(grouped.get(d.event.userId) ?? []), d]);
            const results = await store.applyEvents(grouped, NOW, { latestBefore: 4 });
            for (const [userId, deliveries] of grouped) {
              const cur = model.get(userId) ?? { state: DEFAULT_USER_STATE, memory: EMPTY_MEMORY };
              const out = applyEvents(cur.state, cur.memory, deliveries, CONTRACT_PARAMS, NOW);
              const { applied, resent, redelivered, fresh } = out;
              expect(results.get(userId)).toEqual({ version: out.state.version, applied, resent, redelivered, fresh, latestBefore: recentItemsOf(cur.state, CONTRACT_PARAMS).slice(0, 4) });
              model.set(userId, { state: out.state, memory: out.memory });
            }
          }
        }),
        { numRuns: 30 },
      );
    });

    it('ends in the reference model’s state and dedupe memory for streams that span days, in random batches', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(streamArb({ maxGapMs: 8 * HOUR, maxLength: 80, scope: () => `r${++run}-` }), async ({ batches }) => {
          for (const batch of batches) {
            const grouped = new Map<string, Delivery[]>();
            for (const d of batch) grouped.set(d.event.userId, [...(grouped.get(d.event.userId) ?? []), d]);
            await store.applyEvents(grouped, NOW);
          }
          const expected = modelRun(batches, CONTRACT_PARAMS, NOW);
          const ids = [...expected.keys()];
          const actual = await store.exportMany(ids);
          ids.forEach((id, i) => {
            const want = expected.get(id)!;
            expectSameState(actual[i]!.state, want.state);
            expect(actual[i]!.seen).toEqual(packedMemory(want.memory));
            expect(actual[i]!.offsets).toEqual(Object.fromEntries(want.memory.offsets));
          });
        }),
        { numRuns: 40 },
      );
    });

    it('ends in the state and memory of a run without expiry, through idle expiries and restores before applying', async () => {
      let run = 0;
      let expiries = 0;
      await fc.assert(
        fc.asyncProperty(streamArb({ maxGapMs: 8 * HOUR, maxLength: 60, scope: () => `x${++run}-` }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), async ({ batches }, leaves) => {
          const profiles = createMemoryProfileStore();
          const restoring = createRestoringStore(store, profiles, { idleTtlMs: 60_000 });
          const all = [...new Set(batches.flat().map((d) => d.event.userId))];
          for (const [i, batch] of batches.entries()) {
            const grouped = new Map<string, Delivery[]>();
            for (const d of batch) grouped.set(d.event.userId, [...(grouped.get(d.event.userId) ?? []), d]);
            await restoring.applyEvents(grouped, NOW);
            if (!leaves[i % leaves.length]) continue;
            // What the sync does, then the idle countdown runs out: every user written leaves the store.
            const snapshots = await store.exportMany(all);
            const present = all.flatMap((userId, j) => (snapshots[j] ? [{ userId, snapshot: snapshots[j] }] : []));
            for (const p of present) await profiles.upsertIfNewer({ userId: p.userId, version: p.snapshot.state.version, snapshot: p.snapshot, updatedAt: NOW });
            expect(await store.markSynced(present.map((p) => ({ userId: p.userId, version: p.snapshot.state.version })), 1)).toBe(present.length);
            await waitFor(async () => (await store.loadMany(all)).every((st) => st === undefined), { timeoutMs: 5_000, intervalMs: 2, what: 'the synced users to leave' });
            expiries += present.length;
          }
          const expected = modelRun(batches, CONTRACT_PARAMS, NOW);
          // Users that left and had no event since come back as a read would bring them: from MongoDB.
          const online = await store.exportMany(all);
          const durable = await profiles.findMany(all);
          all.forEach((userId, i) => {
            const got = online[i] ?? durable[i]?.snapshot;
            const want = expected.get(userId)!;
            expectSameState(got!.state, want.state);
            expect(got!.seen).toEqual(packedMemory(want.memory));
            // Marks moved by deliveries that applied nothing are not written to MongoDB (nothing changed), so a user
            // that left may come back with lower ones; what they would have caught its seen ids catch (README: Memory).
            for (const [source, mark] of want.memory.offsets) expect(got!.offsets[source] ?? -1).toBeLessThanOrEqual(mark);
            if (online[i] && !durable[i]) expect(got!.offsets).toEqual(Object.fromEntries(want.memory.offsets));
          });
        }),
        { numRuns: 15 },
      );
      expect(expiries).toBeGreaterThan(0);
    });

    it('starts an idle countdown only at the version MongoDB holds, and ends it when anything is applied', async () => {
      await store.applyEvents(delivered([event('c1', 'cd', T0)]), NOW);
      const [v1] = await store.exportMany(['cd']);
      // The user changed after its copy was written: no countdown for the older version.
      await store.applyEvents(delivered([event('c2', 'cd', T0 + 1)]), NOW);
      expect(await store.markSynced([{ userId: 'cd', version: v1!.state.version }], 1)).toBe(0);
      expect(await store.markSynced([{ userId: 'nobody', version: 1 }], 1)).toBe(0);
      // Synced at its version, then changed again before the countdown ends: it stays.
      expect(await store.markSynced([{ userId: 'cd', version: 2 }], 300)).toBe(1);
      await store.applyEvents(delivered([event('c3', 'cd', T0 + 2)]), NOW);
      await store.applyProfile({ userId: 'cd', profileVersion: 1, vip: true, status: null }, NOW);
      const later = Date.now() + 400;
      await waitFor(() => Date.now() > later, { timeoutMs: 2_000, intervalMs: 50, what: 'the countdown to have run out' });
      expect((await store.loadMany(['cd']))[0]).toMatchObject({ version: 4, vip: true });
      // A re-send alone (nothing applied) keeps a countdown running; when it ends, every key goes.
      expect(await store.markSynced([{ userId: 'cd', version: 4 }], 200)).toBe(1);
      expect((await store.applyEvents(delivered([event('c3', 'cd', T0 + 2)]), NOW)).get('cd')).toMatchObject({ applied: 0, resent: 1 });
      await waitFor(async () => (await store.exportMany(['cd']))[0] === undefined, { timeoutMs: 5_000, intervalMs: 20, what: 'the user to leave' });
      // Only present users are applied when asked: the absent one is left out, untouched.
      const only = await store.applyEvents(delivered([event('c4', 'cd', T0 + 3), event('n1', 'new', T0)]), NOW, { onlyPresent: true });
      expect([...only.keys()]).toEqual([]);
      expect(await store.loadMany(['cd', 'new'])).toEqual([undefined, undefined]);
    });

    it('applies events far behind the newest, skips re-sends and redeliveries, and bumps the version once per changing batch', async () => {
      const D = 24 * HOUR;
      const from = (events: ActivityEvent[], first: number): Map<string, Delivery[]> =>
        new Map([['u', events.map((event, i) => ({ event, arrivedAt: ARRIVAL, source: 'activity/0', offset: first + i }))]]);
      const first = await store.applyEvents(from([event('a', 'u', T0 + 3 * D), event('b', 'u', T0 + 3 * D + 10), event('a', 'u', T0 + 3 * D), event('old', 'u', T0)], 10), NOW);
      expect(first.get('u')).toEqual({ version: 1, applied: 3, resent: 1, redelivered: 0, fresh: [true, true, false, true], latestBefore: [] });
      // Offsets 12 and 13 again (a redelivery), then 14: a re-send of b.
      const again = await store.applyEvents(from([event('a', 'u', T0 + 3 * D), event('old', 'u', T0), event('b', 'u', T0 + 3 * D + 10)], 12), NOW + 1, { latestBefore: 2 });
      expect(again.get('u')).toEqual({ version: 1, applied: 0, resent: 1, redelivered: 2, fresh: [false, false, false], latestBefore: [{ itemId: 'item-1', at: T0 + 3 * D + 10, eventId: 'b' }] });
      const [snapshot] = await store.exportMany(['u']);
      expect(snapshot!.state).toMatchObject({ version: 1, updatedAt: NOW, watermark: T0 + 3 * D + 10 });
      expect(snapshot!.state.lastViewed).toEqual({ at: T0 + 3 * D + 10, eventId: 'b', itemId: 'item-1' });
      expect(snapshot!.offsets).toEqual({ 'activity/0': 14 });
      expect(seenDigests(snapshot!.seen)).toEqual(digestsOf(['a', 'b', 'old']));
    });

    it('keeps the recent items with the latest stamps: at the same time, the greater eventId, not the greater item id', async () => {
      // 25 items at one instant; item i-NN carries eventId e-(99-NN), so item order and eventId order are opposite.
      const items = Array.from({ length: 25 }, (_, n) => String(n).padStart(2, '0'));
      await store.applyEvents(delivered(items.slice(0, 12).map((n) => event(`e-${99 - Number(n)}`, 't', T0, { itemId: `i-${n}` }))), NOW);
      const second = await store.applyEvents(delivered(items.slice(12).map((n) => event(`e-${99 - Number(n)}`, 't', T0, { itemId: `i-${n}` }))), NOW, { latestBefore: 3 });
      expect(second.get('t')!.latestBefore.map((r) => r.itemId)).toEqual(['i-00', 'i-01', 'i-02']);
      const [state] = await store.loadMany(['t']);
      expect(Object.keys(state!.recent).sort()).toEqual(items.slice(0, 20).map((n) => `i-${n}`));
      expect(state!.recent['i-07']).toEqual({ at: T0, eventId: 'e-92' });
      expect(recentItemsOf(state!, CONTRACT_PARAMS).slice(0, 2).map((r) => r.itemId)).toEqual(['i-00', 'i-01']);

      // A kept item touched again, in a batch whose 20 newer items push it out: it goes, old stamp and all.
      const newer = Array.from({ length: 20 }, (_, n) => event(`n-${n}`, 't', T0 + 10 + n, { itemId: `j-${n}` }));
      await store.applyEvents(delivered([event('e-00-again', 't', T0 + 5, { itemId: 'i-07' }), ...newer]), NOW);
      const [after] = await store.loadMany(['t']);
      expect(Object.keys(after!.recent).sort()).toEqual(newer.map((e) => e.itemId!).sort());
    });

    it('settles a tie that straddles the cut by eventId, and moves an item at the same time only to a greater eventId', async () => {
      // 3 items below the tie, 10 tied at T0 (eventIds opposite to item order), 12 above: 8 of the tie stay.
      const below = Array.from({ length: 3 }, (_, n) => event(`b-${n}`, 'c', T0 - 50 + n, { itemId: `b-${n}` }));
      const tied = Array.from({ length: 10 }, (_, n) => event(`t-${9 - n}`, 'c', T0, { itemId: `t-item-${n}` }));
      const above = Array.from({ length: 12 }, (_, n) => event(`a-${n}`, 'c', T0 + 100 + n, { itemId: `a-${n}` }));
      await store.applyEvents(delivered([...above.slice(0, 6), ...tied, ...below, ...above.slice(6)]), NOW);
      const [state] = await store.loadMany(['c']);
      const kept = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => `t-item-${n}`);
      expect(Object.keys(state!.recent).sort()).toEqual([...above.map((e) => e.itemId!), ...kept].sort());

      // The same item at the same time: a smaller eventId changes nothing, a greater one takes its place.
      await store.applyEvents(delivered([event('t-0', 'c', T0, { itemId: 't-item-4' })]), NOW);
      expect((await store.loadMany(['c']))[0]!.recent['t-item-4']).toEqual({ at: T0, eventId: 't-5' });
      await store.applyEvents(delivered([event('t-z', 'c', T0, { itemId: 't-item-4' })]), NOW);
      expect((await store.loadMany(['c']))[0]!.recent['t-item-4']).toEqual({ at: T0, eventId: 't-z' });
    });

    it('keeps the most affine categories and the latest-arrived seen ids up to their caps, as the model does', async () => {
      // 16 events, one a minute, each with its own id and one of 6 categories; the later ones weigh more.
      const deliveries: Delivery[] = Array.from({ length: 16 }, (_, n) => ({
        event: event(`cap-${String(n).padStart(2, '0')}`, 'cap', T0 + n * 60_000, { type: n % 2 ? 'PURCHASE' : 'VIEW', category: `c${n % 6}` }),
        arrivedAt: ARRIVAL + n * 60_000,
      }));
      await store.applyEvents(new Map([['cap', deliveries.slice(0, 7)]]), NOW);
      await store.applyEvents(new Map([['cap', deliveries.slice(7)]]), NOW);
      const [snapshot] = await store.exportMany(['cap']);
      const first = applyEvents(DEFAULT_USER_STATE, EMPTY_MEMORY, deliveries.slice(0, 7), CONTRACT_PARAMS, NOW);
      const want = applyEvents(first.state, first.memory, deliveries.slice(7), CONTRACT_PARAMS, NOW);
      expect(Object.keys(snapshot!.state.categories).sort()).toEqual(['c1', 'c3', 'c5']);
      expect(seenDigests(snapshot!.seen)).toEqual(digestsOf(deliveries.slice(4).map((d) => d.event.eventId)));
      expectSameState(snapshot!.state, want.state);
      expect(snapshot!.seen).toEqual(packedMemory(want.memory));
      // A re-send of a kept id changes nothing.
      const again = await store.applyEvents(new Map([['cap', [{ ...deliveries[15]!, arrivedAt: ARRIVAL + 20 * 60_000 }]]]), NOW);
      expect(again.get('cap')!.resent).toBe(1);
    });

    it('applies a newer static profile, refuses an older one, and keeps activity intact', async () => {
      await store.applyEvents(delivered([event('x', 'p', T0)]), NOW);
      expect(await store.applyProfile({ userId: 'p', profileVersion: 5, vip: true, status: 'active' }, NOW)).toBe(2);
      expect(await store.applyProfile({ userId: 'p', profileVersion: 4, vip: false, status: 'banned' }, NOW)).toBe(0);
      expect(await store.applyProfile({ userId: 'p', profileVersion: 5, vip: false, status: null }, NOW)).toBe(0);
      const [state] = await store.loadMany(['p']);
      expect(state).toMatchObject({ version: 2, vip: true, status: 'active', profileVersion: 5 });
      expect(state!.recent).toEqual({ 'item-1': { at: T0, eventId: 'x' } });
      expect(await store.applyProfile({ userId: 'new', profileVersion: 1, vip: false, status: null }, NOW)).toBe(1);
    });

    it('exports snapshots that restore exactly, and never restores over a newer version', async () => {
      const events = [event('1', 'a', T0), event('2', 'a', T0 + 5000, { type: 'PURCHASE', category: 'games' })];
      await store.applyEvents(delivered(events), NOW);
      await store.applyEvents(new Map([['b', [{ event: event('3', 'b', T0), arrivedAt: ARRIVAL, source: 'activity/1', offset: 7 }]]]), NOW);
      const [a, b, none] = await store.exportMany(['a', 'b', 'none']);
      expect(none).toBeUndefined();
      expect(seenDigests(a!.seen)).toEqual(digestsOf(['1', '2']));
      expect(b!.offsets).toEqual({ 'activity/1': 7 });

      await store.applyEvents(delivered([event('4', 'a', T0 + 9000)]), NOW);
      expect(await store.restore('a', a!)).toBe(false);
      expect(await store.restore('b-copy', b!)).toBe(true);
      const [copy] = await store.exportMany(['b-copy']);
      expectSameState(copy!.state, b!.state, 0);
      expect(copy!.seen).toEqual(b!.seen);
      expect(copy!.offsets).toEqual(b!.offsets);
      // The restored memory still deduplicates: by offset, and by id.
      const replay = await store.applyEvents(
        new Map([['b-copy', [{ event: event('3', 'b-copy', T0), arrivedAt: ARRIVAL, source: 'activity/1', offset: 7 }, ...arrive([event('3', 'b-copy', T0)])]]]),
        NOW,
      );
      expect(replay.get('b-copy')).toMatchObject({ applied: 0, redelivered: 1, resent: 1 });
    });

    it('reads only the scalars of users asked for scalars, and the same scalars as a whole read', async () => {
      await store.applyEvents(delivered([event('s1', 'a', T0), event('s2', 'a', T0 + 1000, { type: 'PURCHASE', category: 'games' }), event('s3', 'b', T0)]), NOW);
      const [whole, partial] = await Promise.all([store.loadMany(['a', 'b']), store.loadMany(['a', 'b', 'ghost'], { scalarsOnly: new Set(['a', 'ghost']) })]);
      const scalars = ({ buckets: _b, recent: _r, categories: _c, ...rest }: NonNullable<(typeof whole)[number]>) => rest;
      expect(scalars(partial[0]!)).toEqual(scalars(whole[0]!));
      expect(partial[1]).toEqual(whole[1]);
      expect(partial[2]).toBeUndefined();
    });

    /** The store's dirty clock once it has moved past `after`: marks made from now on are later than any made before. */
    async function clockPast(after: number): Promise<number> {
      let now = await store.dirtyClock();
      for (const deadline = Date.now() + 5_000; now <= after; now = await store.dirtyClock()) {
        if (Date.now() > deadline) throw new Error(`the dirty clock stayed at ${now}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      return now;
    }

    it('queues changed users for the sync: oldest first, claimed with a lease, given back when it expires', async () => {
      expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
      const before = await store.dirtyClock();
      // The writer's clock (1000, 2000, 3000) is not the one that stamps the marks: the store's own is.
      await store.applyEvents(delivered([event('d1', 'c', T0)]), 1000);
      const first = await clockPast(await store.dirtyClock());
      await store.applyEvents(delivered([event('d2', 'b', T0), event('d3', 'a', T0)]), 2000);
      await store.applyEvents(delivered([event('d4', 'c', T0 + 1)]), 3000); // still dirty since its first mark
      const { oldestSince, ...counts } = await store.dirtyBacklog();
      expect(counts).toEqual({ dirty: 3, claimed: 0 });
      expect(oldestSince).toBeGreaterThanOrEqual(before);
      expect(oldestSince).toBeLessThan(first);

      expect(await store.claimDirty(2, 500, 4000)).toEqual(['c', 'a']);
      expect(await store.claimDirty(10, 500, 4100)).toEqual(['b']);
      expect(await store.claimDirty(10, 500, 4200)).toEqual([]);
      expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 3, oldestSince });

      await store.completeClaims(['c']);
      // a's lease ran out (its claimer died): a comes back, dirty since when it was.
      expect(await store.claimDirty(10, 500, 4550)).toEqual(['a']);
      await store.completeClaims(['a', 'b']);
      expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
    });

    it('keeps a user changed while claimed dirty after its claim ends', async () => {
      await store.applyEvents(delivered([event('e1', 'a', T0)]), 1000);
      expect(await store.claimDirty(10, 60_000, 2000)).toEqual(['a']);
      const claimed = await clockPast(await store.dirtyClock());
      await store.applyEvents(delivered([event('e2', 'a', T0 + 5)]), 3000);
      await store.completeClaims(['a']);
      const { oldestSince, ...counts } = await store.dirtyBacklog();
      expect(counts).toEqual({ dirty: 1, claimed: 0 });
      expect(oldestSince).toBeGreaterThanOrEqual(claimed); // marked again, at its new change
      expect(await store.claimDirty(10, 60_000, 4000)).toEqual(['a']);
    });

    it('loads many users at once, repeated ids included', async () => {
      const events = Array.from({ length: 100 }, (_, i) => event(`e${i}`, `user-${i}`, T0 + i));
      await store.applyEvents(delivered(events), NOW);
      const ids = events.map((e) => e.userId);
      const loaded = await store.loadMany([...ids, 'user-3']);
      expect(loaded).toHaveLength(101);
      expect(loaded[42]!.lastActivity).toEqual({ at: T0 + 42, eventId: 'e42', type: 'VIEW' });
      expect(loaded[100]).toEqual(loaded[3]);
    });
  });
}
