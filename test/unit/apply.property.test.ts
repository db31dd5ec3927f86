/**
 * The feature semantics as properties: for random event streams within the
 * dedupe horizon, any permutation with random duplicates, split into random
 * batches, gives the same features as the sorted, de-duplicated stream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvents } from '../../src/features/apply.js';
import { DEFAULT_FEATURE_PARAMS, type FeatureParams } from '../../src/features/params.js';
import { DEFAULT_USER_STATE, type UserState } from '../../src/features/state.js';
import { viewOf } from '../../src/features/view.js';
import type { ActivityEvent } from '../../src/features/activity.js';
import { byUser, eventsArb, expectSameView, sortedByTime, T0 } from '../support/events.js';

// More top categories than the generator uses, so no near-tie sits at the cut.
const P: FeatureParams = { ...DEFAULT_FEATURE_PARAMS, topCategories: 10 };

function run(batches: readonly (readonly ActivityEvent[])[]): Map<string, UserState> {
  const states = new Map<string, { state: UserState; seen: ReadonlyMap<string, number> }>();
  for (const batch of batches) {
    for (const [userId, events] of byUser(batch)) {
      const cur = states.get(userId) ?? { state: DEFAULT_USER_STATE, seen: new Map<string, number>() };
      const out = applyEvents(cur.state, cur.seen, events, P, 0);
      states.set(userId, { state: out.state, seen: out.seen });
    }
  }
  return new Map([...states].map(([id, s]) => [id, s.state]));
}

/** A permutation of `events` with some repeated, cut into batches. */
const shuffledWithDuplicates = (events: ActivityEvent[]) =>
  fc
    .tuple(
      fc.shuffledSubarray(events, { minLength: 0, maxLength: events.length }),
      fc.array(fc.nat(), { maxLength: 10 }),
    )
    .chain(([dups, cuts]) =>
      fc.shuffledSubarray([...events, ...dups], { minLength: events.length + dups.length }).map((order) => {
        const sorted = [...new Set(cuts.map((c) => c % (order.length + 1)))].sort((a, b) => a - b);
        return [0, ...sorted, order.length].slice(1).map((end, i, ends) => order.slice(i === 0 ? 0 : ends[i - 1], end));
      }),
    );

describe('applyEvents (reference model)', () => {
  it('gives the same features for any order, duplicates and batching', () => {
    fc.assert(
      fc.property(
        eventsArb().chain((events) => fc.tuple(fc.constant(events), shuffledWithDuplicates(events))),
        fc.integer({ min: 0, max: 36 * 3_600_000 }),
        ([events, batches], readDelay) => {
          const expected = run([sortedByTime(events)]);
          const actual = run(batches);
          const now = Math.max(...events.map((e) => e.occurredAt)) + readDelay;
          expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
          for (const [userId, state] of expected) expectSameView(viewOf(actual.get(userId)!, now, P), viewOf(state, now, P));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('changes nothing on a batch of duplicates, and bumps the version once per changing batch', () => {
    const e = (id: string, at: number): ActivityEvent => ({ eventId: id, userId: 'u', type: 'CLICK', itemId: 'i', occurredAt: at });
    const first = applyEvents(DEFAULT_USER_STATE, new Map(), [e('a', T0), e('b', T0 + 1), e('a', T0)], P, 5);
    expect(first).toMatchObject({ applied: 2, duplicates: 1, late: 0 });
    expect(first.state.version).toBe(1);
    const again = applyEvents(first.state, first.seen, [e('b', T0 + 1), e('a', T0)], P, 6);
    expect(again).toMatchObject({ applied: 0, duplicates: 2 });
    expect(again.state).toBe(first.state);
    expect(applyEvents(first.state, first.seen, [e('c', T0 + 2)], P, 7).state.version).toBe(2);
  });

  it('refuses events older than the watermark by more than the dedupe horizon, and forgets ids behind it', () => {
    const e = (id: string, at: number): ActivityEvent => ({ eventId: id, userId: 'u', type: 'LOGIN', occurredAt: at });
    const H = P.dedupeHorizonMs;
    const out = applyEvents(DEFAULT_USER_STATE, new Map(), [e('old', T0), e('new', T0 + H + 1), e('late', T0)], P, 0);
    expect(out).toMatchObject({ applied: 2, late: 1 });
    expect([...out.seen.keys()]).toEqual(['new']);
    expect(applyEvents(out.state, out.seen, [e('edge', T0 + 1)], P, 0).applied).toBe(1);
  });
});
