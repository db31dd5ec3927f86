/**
 * The feature semantics as properties of the reference model: for random
 * streams whose event times span ten days, any arrival order with re-sends
 * and Kafka redeliveries, cut into random batches, gives exactly the state of
 * the de-duplicated stream applied at once, with no event refused for its age.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/features/activity.js';
import { admission, applyEvents, EMPTY_MEMORY, type Delivery } from '../../src/features/apply.js';
import { DEFAULT_FEATURE_PARAMS, type FeatureParams } from '../../src/features/params.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import { viewOf } from '../../src/features/view.js';
import { arrive, expectSameState, expectSameView, modelRun, sortedByTime, statesOf, streamArb, T0 } from '../support/events.js';

// More top categories than the generator uses, so no near-tie sits at the cut.
const P: FeatureParams = { ...DEFAULT_FEATURE_PARAMS, topCategories: 10 };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The de-duplicated stream, applied in one batch in time order: what every delivery order must come to. */
const deduplicated = (events: readonly ActivityEvent[]) => statesOf(modelRun([arrive(sortedByTime(events))], P));

describe('applyEvents (reference model)', () => {
  it('counts every distinct event once, whatever the order, re-sends, redeliveries and batching, over ten days of event time', () => {
    fc.assert(
      fc.property(streamArb({ spanMs: 10 * DAY, maxGapMs: 10 * 60_000, maxLength: 80 }), fc.integer({ min: 0, max: 36 * HOUR }), ({ events, batches }, readDelay) => {
        const expected = deduplicated(events);
        const run = modelRun(batches, P);
        const now = Math.max(...events.map((e) => e.occurredAt)) + readDelay;
        expect([...run.keys()].sort()).toEqual([...expected.keys()].sort());
        for (const [userId, state] of expected) {
          const actual = run.get(userId)!.state;
          expectSameState(actual, state, 1e-12, { bookkeeping: false });
          expectSameView(viewOf(actual, now, P), viewOf(state, now, P));
        }
        // Every distinct event is remembered once: nothing was refused, nothing counted twice.
        const distinct = new Set(events.map((e) => e.eventId));
        const seen = [...run.values()].flatMap((u) => u.memory.seen.map((r) => r.key));
        expect(seen.sort()).toEqual([...distinct].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('reports each delivery as applied, re-sent or redelivered, and bumps the version once per changing batch', () => {
    const e = (id: string, at: number): ActivityEvent => ({ eventId: id, userId: 'u', type: 'CLICK', itemId: 'i', occurredAt: at });
    const at = (event: ActivityEvent, offset: number): Delivery => ({ event, arrivedAt: T0, source: 'activity/0', offset });
    const first = applyEvents(DEFAULT_USER_STATE, EMPTY_MEMORY, [at(e('a', T0), 0), at(e('b', T0 + 1), 1), at(e('a', T0), 2)], P, 5);
    expect(first).toMatchObject({ applied: 2, resent: 1, redelivered: 0, fresh: [true, true, false] });
    expect(first.state.version).toBe(1);
    expect([...first.memory.offsets]).toEqual([['activity/0', 2]]);
    // Kafka hands offsets 1 and 2 over again (a crash before the commit), then a new one.
    const again = applyEvents(first.state, first.memory, [at(e('b', T0 + 1), 1), at(e('a', T0), 2)], P, 6);
    expect(again).toMatchObject({ applied: 0, resent: 0, redelivered: 2, fresh: [false, false] });
    expect(again.state).toBe(first.state);
    expect(applyEvents(first.state, first.memory, [at(e('c', T0 + 2), 3)], P, 7).state.version).toBe(2);
  });

  it('applies events days older than the user’s newest, counting them in the score but not in windows they have left', () => {
    const e = (id: string, occurredAt: number): ActivityEvent => ({ eventId: id, userId: 'u', type: 'LOGIN', occurredAt });
    const out = applyEvents(DEFAULT_USER_STATE, EMPTY_MEMORY, arrive([e('new', T0 + 5 * DAY), e('old', T0), e('older', T0 - 3 * DAY)], T0 + 5 * DAY), P, 0);
    expect(out).toMatchObject({ applied: 3, resent: 0, redelivered: 0 });
    const view = viewOf(out.state, T0 + 5 * DAY, P);
    expect(view.counts.LAST_24H.LOGIN).toBe(1);
    const weight = P.weights.LOGIN;
    const expectedSum = weight * (1 + 2 ** (-5 / 7) + 2 ** (-8 / 7));
    expect(out.state.scoreSum).toBeCloseTo(expectedSum, 12);
  });

  it('forgets an id once a later arrival is more than the dedupe horizon past it, and remembers it until then', () => {
    const H = P.dedupeHorizonMs;
    const e = (id: string): ActivityEvent => ({ eventId: id, userId: 'u', type: 'LOGIN', occurredAt: T0 });
    const first = applyEvents(DEFAULT_USER_STATE, EMPTY_MEMORY, arrive([e('a')], T0), P, 0);
    // An arrival exactly at the horizon keeps `a`; the re-send is recognised.
    const edge = applyEvents(first.state, first.memory, arrive([e('b'), e('a')], T0 + H), P, 0);
    expect(edge).toMatchObject({ applied: 1, resent: 1 });
    expect(edge.memory.seen.map((r) => r.key).sort()).toEqual(['a', 'b']);
    // One millisecond later `a` is forgotten: a re-send after that counts again (the documented trade-off).
    const past = applyEvents(edge.state, edge.memory, arrive([e('c')], T0 + H + 1), P, 0);
    expect(past.memory.seen.map((r) => r.key).sort()).toEqual(['b', 'c']);
    expect(applyEvents(past.state, past.memory, arrive([e('a')], T0 + H + 2), P, 0).applied).toBe(1);
  });

  it('records arrivals in whole seconds, rounded up and never below the id before, so an id is kept at least the horizon', () => {
    const H = P.dedupeHorizonMs;
    const e = (id: string): ActivityEvent => ({ eventId: id, userId: 'u', type: 'LOGIN', occurredAt: T0 });
    // `a` arrives 1 ms past a whole second, then `b` from a partition whose clock lags by 5 s.
    const out = applyEvents(DEFAULT_USER_STATE, EMPTY_MEMORY, [...arrive([e('a')], T0 + 1), ...arrive([e('b')], T0 - 5000)], P, 0);
    expect(out.memory.seen).toEqual([{ key: 'a', at: T0 / 1000 + 1 }, { key: 'b', at: T0 / 1000 + 1 }]);
    // Kept up to the rounded-up second past the horizon, forgotten after it.
    const kept = applyEvents(out.state, out.memory, arrive([e('c')], T0 + 1000 + H), P, 0);
    expect(kept.memory.seen.map((r) => r.key)).toEqual(['a', 'b', 'c']);
    expect(applyEvents(kept.state, kept.memory, arrive([e('d')], T0 + 1001 + H), P, 0).memory.seen.map((r) => r.key)).toEqual(['c', 'd']);
  });

  it('admits events by their date against their arrival: too old expires, too far ahead is refused, the bounds themselves pass', () => {
    const at = (occurredAt: number): ActivityEvent => ({ eventId: 'x', userId: 'u', type: 'LOGIN', occurredAt });
    const arrived = T0 + 40 * DAY;
    expect(admission(at(arrived - P.maxEventAgeMs), arrived, P)).toBe('ok');
    expect(admission(at(arrived - P.maxEventAgeMs - 1), arrived, P)).toBe('expired');
    expect(admission(at(arrived + P.maxClockSkewMs), arrived, P)).toBe('ok');
    expect(admission(at(arrived + P.maxClockSkewMs + 1), arrived, P)).toBe('future');
  });
});
