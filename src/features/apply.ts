/**
 * src/features: the feature semantics as pure functions (scores, tiers,
 * windows, affinities, co-occurrence, recommendations), tested without I/O.
 * It imports nothing but itself: no packages, no Node built-ins.
 *
 * Applies a user's events to their state: the reference model of the feature
 * semantics. The Lua script src/stores/lua/apply-events.lua does the same
 * steps in the same order inside Redis, and the contract tests hold the two
 * to the same results.
 *
 * Duplicates are recognised by arrival, never refused by event time. Each
 * event comes as a {@link Delivery}: the event, when it arrived (the Kafka
 * record's timestamp) and where it was read (`topic/partition` and offset).
 * For each delivery, in arrival order:
 *  1. an offset at or below the highest one already taken from its
 *     topic-partition for this user is a Kafka redelivery and changes nothing
 *     (exact, with memory bounded by partitions);
 *  2. an eventId already seen is a re-send and changes nothing;
 *  3. otherwise it is recorded as seen (with its arrival in whole seconds,
 *     rounded up and never below the id recorded before) and added to
 *     the score, the window buckets still live at the watermark, the last
 *     activity / last viewed stamps, the recent items and the category
 *     affinities. However old its event time: the score decays it, and
 *     windows it has left simply do not count it.
 * Every delivery raises its partition's offset mark. Then, if any event was
 * applied, recent items are cut to the latest N, ids recorded as arrived more
 * than the dedupe horizon before the batch's latest arrival are forgotten, buckets
 * behind the watermark are pruned, categories and seen ids are cut to their
 * caps (the most affine; the latest recorded), and the version is bumped once. (Cutting
 * once per batch keeps the same items as cutting after every event: an item's
 * latest time only grows and the cut-off only rises.)
 *
 * Events too old to keep (`maxEventAgeMs`) or dated in the future beyond
 * `maxClockSkewMs` never reach this function: {@link admission} sorts them
 * out first. For the rest the result does not depend on arrival order, on
 * batching or on duplicates arriving within the horizon (the property tests
 * check this).
 */
import type { ActivityEvent } from './activity.js';
import { scaledWeight } from './affinity.js';
import type { FeatureParams } from './params.js';
import { addWeighted } from './score.js';
import { isNewer, newerFirst, type Stamp, type UserState } from './state.js';
import { bucketField, bucketOf, firstLiveBucket, parseBucketField } from './windows.js';

/** An event as it arrived. */
export interface Delivery {
  readonly event: ActivityEvent;
  /** When it arrived (epoch ms): its Kafka record's timestamp, never later than processing time. */
  readonly arrivedAt: number;
  /** Where it was read, `topic/partition`, with its offset there; absent when it came from no log. */
  readonly source?: string | undefined;
  readonly offset?: number | undefined;
  /** What the dedupe memory keeps of the eventId: its digest in the stores (contracts/seen-ids.ts); the id itself when absent. */
  readonly key?: string | undefined;
}

/** One remembered id: its key and its recorded arrival (epoch seconds). */
export interface SeenId {
  readonly key: string;
  readonly at: number;
}

/** What a user's dedupe remembers. */
export interface DedupeMemory {
  /** The ids remembered for at least the dedupe horizon of arrival time, oldest first (`at` never falls along it). */
  readonly seen: readonly SeenId[];
  /** `topic/partition` → the highest offset taken from it for this user. */
  readonly offsets: ReadonlyMap<string, number>;
}

export const EMPTY_MEMORY: DedupeMemory = Object.freeze({ seen: Object.freeze([]), offsets: new Map() });

/** An arrival (epoch ms) as the memory records it: whole seconds, rounded up, so the id is kept at least as long. */
export const seenSeconds = (arrivedAt: number): number => Math.min(0xffff_ffff, Math.max(0, Math.ceil(arrivedAt / 1000)));

export interface ApplyOutcome {
  readonly state: UserState;
  readonly memory: DedupeMemory;
  readonly applied: number;
  /** Events seen before under the same eventId (a producer's or a connector's re-send). */
  readonly resent: number;
  /** Kafka redeliveries: an offset already taken from the same topic-partition. */
  readonly redelivered: number;
  /** Per delivery, in order: applied now for the first time. */
  readonly fresh: readonly boolean[];
}

/** Whether an event may be applied, judged against its arrival time. */
export type Admission = 'ok' | 'expired' | 'future';

export function admission(e: ActivityEvent, arrivedAt: number, p: Pick<FeatureParams, 'maxEventAgeMs' | 'maxClockSkewMs'>): Admission {
  if (e.occurredAt > arrivedAt + p.maxClockSkewMs) return 'future';
  if (e.occurredAt < arrivedAt - p.maxEventAgeMs) return 'expired';
  return 'ok';
}

export function applyEvents(state: UserState, memory: DedupeMemory, deliveries: readonly Delivery[], p: FeatureParams, now: number): ApplyOutcome {
  const known = new Set(memory.seen.map((r) => r.key));
  const added: SeenId[] = [];
  let lastAt = memory.seen.at(-1)?.at ?? 0;
  const offsets = new Map(memory.offsets);
  const buckets: Record<string, number> = { ...state.buckets };
  const recent: Record<string, Stamp> = { ...state.recent };
  const categories: Record<string, number> = { ...state.categories };
  const categoryIncrements = new Map<string, number>();
  let { watermark, lastActivity, lastViewed } = state;
  let score = { sum: state.scoreSum, refTime: state.scoreRefTime };
  let applied = 0;
  let resent = 0;
  let redelivered = 0;
  let latestArrival = -Infinity;
  const fresh = deliveries.map(() => false);

  deliveries.forEach((d, index) => {
    const e = d.event;
    latestArrival = Math.max(latestArrival, d.arrivedAt);
    if (d.source !== undefined && d.offset !== undefined) {
      const mark = offsets.get(d.source);
      if (mark !== undefined && d.offset <= mark) {
        redelivered++;
        return;
      }
      offsets.set(d.source, d.offset);
    }
    const key = d.key ?? e.eventId;
    if (known.has(key)) {
      resent++;
      return;
    }
    applied++;
    fresh[index] = true;
    known.add(key);
    lastAt = Math.max(seenSeconds(d.arrivedAt), lastAt);
    added.push({ key, at: lastAt });
    watermark = Math.max(watermark, e.occurredAt);
    const weight = p.weights[e.type];
    score = addWeighted(score, weight, e.occurredAt, p.halfLifeMs);

    const stamp = { at: e.occurredAt, eventId: e.eventId };
    if (isNewer(stamp, lastActivity)) lastActivity = { ...stamp, type: e.type };
    if (e.type === 'VIEW' && e.itemId !== undefined && isNewer(stamp, lastViewed)) {
      lastViewed = { ...stamp, itemId: e.itemId };
    }

    p.windows.forEach((w, i) => {
      const bucket = bucketOf(w, e.occurredAt);
      if (bucket < firstLiveBucket(w, watermark)) return;
      const field = bucketField(i, e.type, bucket);
      buckets[field] = (buckets[field] ?? 0) + 1;
    });

    if (e.itemId !== undefined && isNewer(stamp, recent[e.itemId])) recent[e.itemId] = stamp;
    if (e.category !== undefined) {
      const inc = scaledWeight(weight, e.occurredAt, p.affinityEpochMs, p.halfLifeMs);
      categoryIncrements.set(e.category, (categoryIncrements.get(e.category) ?? 0) + inc);
    }
  });

  if (applied === 0) return { state, memory: { seen: memory.seen, offsets }, applied, resent, redelivered, fresh };

  // Summed per batch first, then added: the order of additions the Lua script uses too.
  for (const [category, inc] of categoryIncrements) categories[category] = (categories[category] ?? 0) + inc;
  trimRecent(recent, p.recentItems);
  trimLowest(categories, p.maxCategories);
  const all = [...memory.seen, ...added];
  let first = 0;
  while (first < all.length && all[first]!.at * 1000 < latestArrival - p.dedupeHorizonMs) first++;
  const seen = all.slice(Math.max(first, all.length - p.maxSeenIds));
  for (const field of Object.keys(buckets)) {
    const { window, bucket } = parseBucketField(field);
    const w = p.windows[window];
    if (w === undefined || bucket < firstLiveBucket(w, watermark)) delete buckets[field];
  }
  return {
    state: {
      ...state,
      version: state.version + 1,
      updatedAt: now,
      watermark,
      scoreSum: score.sum,
      scoreRefTime: score.refTime,
      lastActivity,
      lastViewed,
      buckets,
      recent,
      categories,
    },
    memory: { seen, offsets },
    applied,
    resent,
    redelivered,
    fresh,
  };
}

/** Keeps the `max` items with the latest stamps (ties at the same time: the greater eventId). */
export function trimRecent(recent: Record<string, Stamp>, max: number): void {
  const ids = Object.keys(recent);
  if (ids.length <= max) return;
  ids.sort((a, b) => newerFirst(recent[a]!, recent[b]!));
  for (const id of ids.slice(max)) delete recent[id];
}

/**
 * Keeps the `max` entries of greatest value, in place, and returns the record;
 * of equal values the lesser key goes first: a Redis sorted set's rank order.
 */
export function trimLowest(r: Record<string, number>, max: number): Record<string, number> {
  const keys = Object.keys(r);
  if (keys.length <= max) return r;
  keys.sort((a, b) => r[a]! - r[b]! || (a < b ? -1 : a > b ? 1 : 0));
  for (const key of keys.slice(0, keys.length - max)) delete r[key];
  return r;
}

/** A static profile update; applied only when newer than the stored profile. */
export interface ProfileUpdate {
  readonly userId: string;
  readonly profileVersion: number;
  readonly vip: boolean;
  readonly status: string | null;
}

export function applyProfile(state: UserState, u: ProfileUpdate, now: number): UserState | undefined {
  if (u.profileVersion <= state.profileVersion) return undefined;
  return {
    ...state,
    version: state.version + 1,
    updatedAt: now,
    profileVersion: u.profileVersion,
    vip: u.vip,
    status: u.status,
  };
}
