/** Generators and comparisons for activity events and user states, shared by unit and contract tests. */
import fc from 'fast-check';
import { expect } from 'vitest';
import { ACTIVITY_TYPES, ITEM_TYPES, type ActivityEvent, type ActivityType } from '../../src/features/activity.js';
import { applyEvents, EMPTY_MEMORY, type DedupeMemory, type Delivery } from '../../src/features/apply.js';
import type { FeatureParams } from '../../src/features/params.js';
import { DEFAULT_USER_STATE, type UserState } from '../../src/features/state.js';
import type { UserView } from '../../src/features/view.js';
import { idDigest, packSeen, unpackSeen } from '../../src/contracts/seen-ids.js';

export const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOUR = 3_600_000;

/** Events of a few users over `spanMs` (20 hours by default), with small id spaces so items and categories repeat. */
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

/** When test events arrive unless a test says otherwise: after all of them, within the clock skew of none in the future. */
export const ARRIVAL = T0 + 40 * 24 * HOUR;

/** Deliveries of `events`, all arrived at `arrivedAt`, read from no log. */
export const arrive = (events: readonly ActivityEvent[], arrivedAt = ARRIVAL): Delivery[] => events.map((event) => ({ event, arrivedAt }));

/** Events grouped by user as deliveries, as a store's applyEvents takes them. */
export const delivered = (events: readonly ActivityEvent[], arrivedAt = ARRIVAL): Map<string, Delivery[]> =>
  new Map([...byUser(events)].map(([userId, es]) => [userId, arrive(es, arrivedAt)]));

/**
 * A stream as Kafka hands it over, in batches: the events of `eventsArb` over
 * `spanMs` of event time in random order, with re-sends (the same event again
 * at a new offset, later), read from two partitions, each message arriving up
 * to `maxGapMs` after the one before, and redeliveries (the last few messages
 * of a partition handed over again, as after a crash, with their offsets and
 * arrival times).
 */
export function streamArb(opts: { users?: number; spanMs?: number; maxGapMs?: number; maxLength?: number; scope?: () => string } = {}): fc.Arbitrary<{ events: ActivityEvent[]; batches: Delivery[][] }> {
  const { maxGapMs = 15 * 60_000, scope = () => '' } = opts;
  return eventsArb({ users: opts.users ?? 3, spanMs: opts.spanMs ?? 10 * 24 * HOUR, maxLength: opts.maxLength ?? 60 })
    .chain((events) => fc.tuple(fc.constant(events), fc.array(fc.nat(events.length - 1), { maxLength: Math.ceil(events.length / 3) })))
    .chain(([events, resends]) => {
      const sends = [...events, ...resends.map((i) => events[i]!)];
      return fc.tuple(
        fc.constant(events),
        fc.shuffledSubarray(sends, { minLength: sends.length }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.nat(maxGapMs)), { minLength: sends.length, maxLength: sends.length }),
        fc.array(fc.tuple(fc.nat(sends.length), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 5 })), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
      );
    })
    .map(([events, order, placement, rewinds, cuts]) => {
      const prefix = scope();
      const scoped = (e: ActivityEvent): ActivityEvent => ({ ...e, userId: `${prefix}${e.userId}`, eventId: `${prefix}${e.eventId}` });
      const read: Delivery[] = [];
      const byPartition: Delivery[][] = [[], []];
      let arrivedAt = T0;
      order.forEach((e, i) => {
        const [partition, gap] = placement[i]!;
        arrivedAt += gap;
        const d: Delivery = { event: scoped(e), arrivedAt, source: `activity/${partition}`, offset: byPartition[partition]!.length };
        byPartition[partition]!.push(d);
        read.push(d);
        for (const [at, p, k] of rewinds) if (at === i) read.push(...byPartition[p]!.slice(-k));
      });
      const ends = [...new Set(cuts.map((c) => c % (read.length + 1)))].sort((a, b) => a - b);
      const batches = [0, ...ends, read.length].slice(1).map((end, i, all) => read.slice(i === 0 ? 0 : all[i - 1], end));
      return { events: events.map(scoped), batches: batches.filter((b) => b.length > 0) };
    });
}

/** The model's dedupe memory (keyed by eventId) in the stores' packed form, base64. */
export const packedMemory = (m: DedupeMemory): string => packSeen(m.seen.map((r) => ({ digest: idDigest(r.key), at: r.at }))).toString('base64');

/** The digests a packed memory holds, sorted; compare with `digestsOf(ids)`. */
export const seenDigests = (packed: string): string[] => unpackSeen(Buffer.from(packed, 'base64')).map((r) => r.digest).sort();
export const digestsOf = (eventIds: readonly string[]): string[] => eventIds.map(idDigest).sort();

export interface ModelUser {
  readonly state: UserState;
  readonly memory: DedupeMemory;
}

/** The reference model over batches of deliveries, one applyEvents per user and batch: every user's final state and memory. */
export function modelRun(batches: Iterable<readonly Delivery[]>, params: FeatureParams, now = 0, users = new Map<string, ModelUser>()): Map<string, ModelUser> {
  for (const batch of batches) {
    const grouped = new Map<string, Delivery[]>();
    for (const d of batch) grouped.set(d.event.userId, [...(grouped.get(d.event.userId) ?? []), d]);
    for (const [userId, deliveries] of grouped) {
      const cur = users.get(userId) ?? { state: DEFAULT_USER_STATE, memory: EMPTY_MEMORY };
      const out = applyEvents(cur.state, cur.memory, deliveries, params, now);
      users.set(userId, { state: out.state, memory: out.memory });
    }
  }
  return users;
}

/** Only the states of a model run. */
export const statesOf = (users: ReadonlyMap<string, ModelUser>): Map<string, UserState> => new Map([...users].map(([id, u]) => [id, u.state]));

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
