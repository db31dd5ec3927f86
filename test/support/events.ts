/** Generators and comparisons for activity events and user states, shared by unit and contract tests. */
import fc from 'fast-check';
import { expect } from 'vitest';
import { ACTIVITY_TYPES, ITEM_TYPES, type ActivityEvent, type ActivityType } from '../../src/features/activity.js';
import type { UserState } from '../../src/features/state.js';
import type { UserView } from '../../src/features/view.js';

export const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOUR = 3_600_000;

/** Events of a few users over `spanMs` (within the dedupe horizon by default), with small id spaces so items and categories repeat. */
export function eventsArb(opts: { users?: number; spanMs?: number; maxLength?: number } = {}): fc.Arbitrary<ActivityEvent[]> {
  const { users = 3, spanMs = 20 * HOUR, maxLength = 60 } = opts;
  const event = fc.record({
    userId: fc.integer({ min: 1, max: users }).map((n) => `u${n}`),
    type: fc.constantFrom(...ACTIVITY_TYPES),
    item: fc.integer({ min: 1, max: 30 }).map((n) => `i${n}`),
    category: fc.option(fc.constantFrom('books', 'games', 'music', 'garden', 'tools', 'toys', 'food'), { nil: undefined }),
    // Coarse times so ties (same millisecond) happen and are exercised.
    occurredAt: fc.integer({ min: 0, max: spanMs / 250 }).map((n) => T0 + n * 250),
  });
  return fc.array(event, { minLength: 1, maxLength }).map((es) =>
    es.map(
      (e, i): ActivityEvent => ({
        eventId: `e${i}`,
        userId: e.userId,
        type: e.type,
        itemId: ITEM_TYPES.has(e.type) ? e.item : undefined,
        category: e.category,
        occurredAt: e.occurredAt,
      }),
    ),
  );
}

export function byUser(events: readonly ActivityEvent[]): Map<string, ActivityEvent[]> {
  const out = new Map<string, ActivityEvent[]>();
  for (const e of events) out.set(e.userId, [...(out.get(e.userId) ?? []), e]);
  return out;
}

export const sortedByTime = (events: readonly ActivityEvent[]): ActivityEvent[] =>
  [...events].sort((a, b) => a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : 1));

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);

function expectCloseRecord(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>, rel: number, what: string) {
  expect(Object.keys(a).sort(), what).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) expect(close(a[k]!, b[k]!, rel), `${what}.${k}: ${a[k]} vs ${b[k]}`).toBe(true);
}

/**
 * Two stored states are the same: exact fields equal, floats within `rel`.
 * With `bookkeeping: false`, `version` and `updatedAt` are not compared:
 * they count batches and record processing time, which differ between runs.
 */
export function expectSameState(
  actual: UserState | undefined,
  expected: UserState | undefined,
  rel = 1e-12,
  { bookkeeping = true }: { bookkeeping?: boolean } = {},
): void {
  expect(actual === undefined).toBe(expected === undefined);
  if (!actual || !expected) return;
  const strip = (s: UserState) => (bookkeeping ? s : { ...s, version: 0, updatedAt: 0 });
  const { scoreSum: s1, categories: c1, ...rest1 } = strip(actual);
  const { scoreSum: s2, categories: c2, ...rest2 } = strip(expected);
  expect(rest1).toEqual(rest2);
  expect(close(s1, s2, rel), `scoreSum ${s1} vs ${s2}`).toBe(true);
  expectCloseRecord(c1, c2, rel, 'categories');
}

/** Two views are the same to the contract's precision; versions and times of change are not compared. */
export function expectSameView(actual: UserView, expected: UserView, rel = 1e-9): void {
  const strip = (v: UserView) => ({
    tier: v.tier,
    counts: v.counts,
    lastActivity: v.lastActivity,
    lastViewed: v.lastViewed,
    recentItems: v.recentItems,
    // Sums of the same terms in another order may differ in the last bit, which can swap two
    // categories of equal affinity: compare them rounded, ties by name.
    categories: v.topCategories
      .map((c) => ({ category: c.category, affinity: Number(c.affinity.toPrecision(10)) }))
      .sort((a, b) => b.affinity - a.affinity || (a.category < b.category ? -1 : 1)),
  });
  expect(strip(actual)).toEqual(strip(expected));
  expect(close(actual.activityScore, expected.activityScore, rel), `score ${actual.activityScore} vs ${expected.activityScore}`).toBe(true);
}

export const typeOf = (t: string): ActivityType => t as ActivityType;
