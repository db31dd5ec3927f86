/**
 * Applies a user's events to their state: the reference model of the feature
 * semantics. The Lua script src/stores/lua/apply-events.lua does the same
 * steps in the same order inside Redis, and the contract tests hold the two
 * to the same results.
 *
 * For each event, in arrival order:
 *  1. an eventId already seen is a duplicate and changes nothing;
 *  2. an event older than the watermark by more than the dedupe horizon is
 *     refused as late (its duplicate could no longer be recognised);
 *  3. otherwise it is recorded as seen and added to the score, the window
 *     buckets still live at the watermark, the last activity / last viewed
 *     stamps, the recent items and the category affinities.
 * Then recent items are cut to the latest N, ids and buckets that fell behind
 * the watermark are pruned and, if any event was applied, the version is
 * bumped once. (Cutting once per batch keeps the same items as cutting after
 * every event: an item's latest time only grows and the cut-off only rises.)
 *
 * Within the dedupe horizon the result does not depend on arrival order or
 * on duplicates (the property tests check this).
 */
import type { ActivityEvent } from './activity.js';
import { scaledWeight } from './affinity.js';
import type { FeatureParams } from './params.js';
import { addWeighted } from './score.js';
import { isNewer, type UserState } from './state.js';
import { bucketField, bucketOf, firstLiveBucket, parseBucketField } from './windows.js';

export interface ApplyOutcome {
  readonly state: UserState;
  /** eventId → occurredAt of every event seen within the horizon. */
  readonly seen: ReadonlyMap<string, number>;
  readonly applied: number;
  readonly duplicates: number;
  readonly late: number;
  /** Per event, in order: applied now for the first time (neither a duplicate nor late). */
  readonly fresh: readonly boolean[];
}

export function applyEvents(
  state: UserState,
  seen: ReadonlyMap<string, number>,
  events: readonly ActivityEvent[],
  p: FeatureParams,
  now: number,
): ApplyOutcome {
  const ids = new Map(seen);
  const buckets: Record<string, number> = { ...state.buckets };
  const recent: Record<string, number> = { ...state.recent };
  const categories: Record<string, number> = { ...state.categories };
  const categoryIncrements = new Map<string, number>();
  let { watermark, lastActivity, lastViewed } = state;
  let score = { sum: state.scoreSum, refTime: state.scoreRefTime };
  let applied = 0;
  let duplicates = 0;
  let late = 0;
  const fresh = events.map(() => false);

  events.forEach((e, index) => {
    if (ids.has(e.eventId)) {
      duplicates++;
      return;
    }
    if (e.occurredAt < watermark - p.dedupeHorizonMs) {
      late++;
      return;
    }
    applied++;
    fresh[index] = true;
    ids.set(e.eventId, e.occurredAt);
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

    if (e.itemId !== undefined) {
      recent[e.itemId] = Math.max(recent[e.itemId] ?? -Infinity, e.occurredAt);
    }
    if (e.category !== undefined) {
      const inc = scaledWeight(weight, e.occurredAt, p.affinityEpochMs, p.halfLifeMs);
      categoryIncrements.set(e.category, (categoryIncrements.get(e.category) ?? 0) + inc);
    }
  });

  if (applied === 0) return { state, seen, applied, duplicates, late, fresh };

  // Summed per batch first, then added: the order of additions the Lua script uses too.
  for (const [category, inc] of categoryIncrements) categories[category] = (categories[category] ?? 0) + inc;
  trimRecent(recent, p.recentItems);
  for (const [id, at] of ids) if (at < watermark - p.dedupeHorizonMs) ids.delete(id);
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
    seen: ids,
    applied,
    duplicates,
    late,
    fresh,
  };
}

/**
 * Keeps the `max` latest items. Ties at the cut go by item id, descending,
 * as a Redis sorted set ranks them (by score, then member).
 */
export function trimRecent(recent: Record<string, number>, max: number): void {
  const ids = Object.keys(recent);
  if (ids.length <= max) return;
  ids.sort((a, b) => recent[b]! - recent[a]! || (a < b ? 1 : a > b ? -1 : 0));
  for (const id of ids.slice(max)) delete recent[id];
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
