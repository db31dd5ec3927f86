/**
 * The contract every UserStateStore keeps, run against the Redis store
 * (integration) and its in-process twin (unit) alike. The central clause:
 * whatever the store does inside (a Lua script in Redis), the state it ends
 * with equals the reference model's (src/features/apply.ts).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/features/activity.js';
import { applyEvents } from '../../src/features/apply.js';
import { DEFAULT_FEATURE_PARAMS, type FeatureParams } from '../../src/features/params.js';
import { DEFAULT_USER_STATE, type UserState } from '../../src/features/state.js';
import { recentItemsOf } from '../../src/features/view.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { byUser, eventsArb, expectSameState, T0 } from '../support/events.js';

export const CONTRACT_PARAMS: FeatureParams = DEFAULT_FEATURE_PARAMS;
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

/** The reference model's states after `batches`. */
function reference(batches: readonly (readonly ActivityEvent[])[], now: number): Map<string, UserState> {
  const users = new Map<string, { state: UserState; seen: ReadonlyMap<string, number> }>();
  for (const batch of batches) {
    for (const [userId, events] of byUser(batch)) {
      const cur = users.get(userId) ?? { state: DEFAULT_USER_STATE, seen: new Map<string, number>() };
      const out = applyEvents(cur.state, cur.seen, events, CONTRACT_PARAMS, now);
      users.set(userId, { state: out.state, seen: out.seen });
    }
  }
  return new Map([...users].map(([id, u]) => [id, u.state]));
}

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

    it('reports which events were fresh and the latest items before each batch, as the reference model does', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(eventsArb({ maxLength: 60 }), fc.array(fc.nat(), { maxLength: 3 }), async (events, cuts) => {
          run++;
          const scoped = events.map((e) => ({ ...e, userId: `f${run}-${e.userId}`, eventId: `f${run}-${e.eventId}` }));
          // Duplicates within and across batches.
          const doubled = [...scoped, ...scoped.filter((_, i) => i % 3 === 0)];
          const ends = [...new Set(cuts.map((c) => c % doubled.length))].sort((a, b) => a - b);
          const batches = [0, ...ends, doubled.length].slice(1).map((end, i, all) => doubled.slice(i === 0 ? 0 : all[i - 1], end));
          const model = new Map<string, { state: UserState; seen: ReadonlyMap<string, number> }>();
          for (const batch of batches) {
            const results = await store.applyEvents(byUser(batch), NOW, { latestBefore: 4 });
            for (const [userId, userEvents] of byUser(batch)) {
              const cur = model.get(userId) ?? { state: DEFAULT_USER_STATE, seen: new Map<string, number>() };
              const out = applyEvents(cur.state, cur.seen, userEvents, CONTRACT_PARAMS, NOW);
              expect(results.get(userId)!.fresh).toEqual(out.fresh);
              expect(results.get(userId)!.latestBefore).toEqual(recentItemsOf(cur.state, CONTRACT_PARAMS).slice(0, 4));
              model.set(userId, { state: out.state, seen: out.seen });
            }
          }
        }),
        { numRuns: 30 },
      );
    });

    it('ends in the reference model’s state for random streams in random batches', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(eventsArb({ maxLength: 80 }), fc.array(fc.nat(), { maxLength: 4 }), async (events, cuts) => {
          run++;
          const scoped = events.map((e) => ({ ...e, userId: `r${run}-${e.userId}`, eventId: `r${run}-${e.eventId}` }));
          const ends = [...new Set(cuts.map((c) => c % scoped.length))].sort((a, b) => a - b);
          const batches = [0, ...ends, scoped.length].slice(1).map((end, i, all) => scoped.slice(i === 0 ? 0 : all[i - 1], end));
          for (const batch of batches) await store.applyEvents(byUser(batch), NOW);
          const expected = reference(batches, NOW);
          const ids = [...expected.keys()];
          const actual = await store.loadMany(ids);
          ids.forEach((id, i) => expectSameState(actual[i], expected.get(id)));
        }),
        { numRuns: 40 },
      );
    });

    it('reports applied, duplicate and late events and bumps the version once per changing batch', async () => {
      const H = CONTRACT_PARAMS.dedupeHorizonMs;
      const first = await store.applyEvents(
        new Map([['u', [event('a', 'u', T0 + H + 10), event('b', 'u', T0 + H + 20), event('a', 'u', T0 + H + 10), event('old', 'u', T0)]]]),
        NOW,
      );
      expect(first.get('u')).toEqual({ version: 1, applied: 2, duplicates: 1, late: 1, fresh: [true, true, false, false], latestBefore: [] });
      const again = await store.applyEvents(new Map([['u', [event('b', 'u', T0 + H + 20)]]]), NOW + 1, { latestBefore: 2 });
      expect(again.get('u')).toEqual({ version: 1, applied: 0, duplicates: 1, late: 0, fresh: [false], latestBefore: [{ itemId: 'item-1', at: T0 + H + 20 }] });
      const [state] = await store.loadMany(['u']);
      expect(state).toMatchObject({ version: 1, updatedAt: NOW, watermark: T0 + H + 20 });
      expect(state!.lastViewed).toEqual({ at: T0 + H + 20, eventId: 'b', itemId: 'item-1' });
    });

    it('applies a newer static profile, refuses an older one, and keeps activity intact', async () => {
      await store.applyEvents(new Map([['p', [event('x', 'p', T0)]]]), NOW);
      expect(await store.applyProfile({ userId: 'p', profileVersion: 5, vip: true, status: 'active' }, NOW)).toBe(2);
      expect(await store.applyProfile({ userId: 'p', profileVersion: 4, vip: false, status: 'banned' }, NOW)).toBe(0);
      expect(await store.applyProfile({ userId: 'p', profileVersion: 5, vip: false, status: null }, NOW)).toBe(0);
      const [state] = await store.loadMany(['p']);
      expect(state).toMatchObject({ version: 2, vip: true, status: 'active', profileVersion: 5 });
      expect(state!.recent).toEqual({ 'item-1': T0 });
      expect(await store.applyProfile({ userId: 'new', profileVersion: 1, vip: false, status: null }, NOW)).toBe(1);
    });

    it('exports snapshots that restore exactly, and never restores over a newer version', async () => {
      const events = [event('1', 'a', T0), event('2', 'a', T0 + 5000, { type: 'PURCHASE', category: 'games' }), event('3', 'b', T0)];
      await store.applyEvents(byUser(events), NOW);
      const [a, b, none] = await store.exportMany(['a', 'b', 'none']);
      expect(none).toBeUndefined();
      expect(Object.keys(a!.seen).sort()).toEqual(['1', '2']);

      await store.applyEvents(new Map([['a', [event('4', 'a', T0 + 9000)]]]), NOW);
      expect(await store.restore('a', a!)).toBe(false);
      expect(await store.restore('b-copy', b!)).toBe(true);
      const [copy] = await store.exportMany(['b-copy']);
      expectSameState(copy!.state, b!.state, 0);
      expect(copy!.seen).toEqual(b!.seen);
      // The restored ids still deduplicate.
      const replay = await store.applyEvents(new Map([['b-copy', [event('3', 'b-copy', T0)]]]), NOW);
      expect(replay.get('b-copy')).toMatchObject({ applied: 0, duplicates: 1 });
    });

    it('reads only the scalars of users asked for scalars, and the same scalars as a whole read', async () => {
      await store.applyEvents(byUser([event('s1', 'a', T0), event('s2', 'a', T0 + 1000, { type: 'PURCHASE', category: 'games' }), event('s3', 'b', T0)]), NOW);
      const [whole, partial] = await Promise.all([store.loadMany(['a', 'b']), store.loadMany(['a', 'b', 'ghost'], { scalarsOnly: new Set(['a', 'ghost']) })]);
      const scalars = ({ buckets: _b, recent: _r, categories: _c, ...rest }: NonNullable<(typeof whole)[number]>) => rest;
      expect(scalars(partial[0]!)).toEqual(scalars(whole[0]!));
      expect(partial[1]).toEqual(whole[1]);
      expect(partial[2]).toBeUndefined();
    });

    it('queues changed users for the sync: oldest first, claimed with a lease, given back when it expires', async () => {
      expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
      await store.applyEvents(byUser([event('d1', 'a', T0)]), 1000);
      await store.applyEvents(byUser([event('d2', 'b', T0), event('d3', 'c', T0)]), 2000);
      await store.applyEvents(byUser([event('d4', 'a', T0 + 1)]), 3000); // still dirty since 1000
      expect(await store.dirtyBacklog()).toEqual({ dirty: 3, claimed: 0, oldestSince: 1000 });

      expect(await store.claimDirty(2, 500, 4000)).toEqual(['a', 'b']);
      expect(await store.claimDirty(10, 500, 4100)).toEqual(['c']);
      expect(await store.claimDirty(10, 500, 4200)).toEqual([]);
      expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 3, oldestSince: 1000 });

      await store.completeClaims(['a']);
      // b's lease ran out (its claimer died): b comes back, dirty since when it was.
      expect(await store.claimDirty(10, 500, 4550)).toEqual(['b']);
      await store.completeClaims(['b', 'c']);
      expect(await store.dirtyBacklog()).toEqual({ dirty: 0, claimed: 0, oldestSince: undefined });
    });

    it('keeps a user changed while claimed dirty after its claim ends', async () => {
      await store.applyEvents(byUser([event('e1', 'a', T0)]), 1000);
      expect(await store.claimDirty(10, 60_000, 2000)).toEqual(['a']);
      await store.applyEvents(byUser([event('e2', 'a', T0 + 5)]), 3000);
      await store.completeClaims(['a']);
      expect(await store.dirtyBacklog()).toEqual({ dirty: 1, claimed: 0, oldestSince: 3000 });
      expect(await store.claimDirty(10, 60_000, 4000)).toEqual(['a']);
    });

    it('loads many users at once, repeated ids included', async () => {
      const events = Array.from({ length: 100 }, (_, i) => event(`e${i}`, `user-${i}`, T0 + i));
      await store.applyEvents(byUser(events), NOW);
      const ids = events.map((e) => e.userId);
      const loaded = await store.loadMany([...ids, 'user-3']);
      expect(loaded).toHaveLength(101);
      expect(loaded[42]!.lastActivity).toEqual({ at: T0 + 42, eventId: 'e42', type: 'VIEW' });
      expect(loaded[100]).toEqual(loaded[3]);
    });
  });
}
