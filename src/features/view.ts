/**
 * Read-time views of a user's state at `now`. Each part is its own function,
 * so a request pays only for the fields it asks for: the score and tier,
 * window counts, recent items, top categories, freshness.
 */
import { ACTIVITY_TYPES, type ActivityType } from './activity.js';
import { affinityAt } from './affinity.js';
import type { FeatureParams } from './params.js';
import { activityScore, decayTo } from './score.js';
import { newerFirst, type LastActivity, type LastViewed, type Stamp, type UserState } from './state.js';
import { tierFor, type Tier } from './tier.js';
import { bucketOf, firstLiveBucket, type WindowName, type WindowSpec } from './windows.js';

export type { FeatureParams };

export interface RecentItem extends Stamp {
  readonly itemId: string;
}
export interface CategoryAffinity {
  readonly category: string;
  readonly affinity: number;
}

export function scoreOf(state: UserState, now: number, p: FeatureParams): { activityScore: number; tier: Tier } {
  const { sum } = decayTo({ sum: state.scoreSum, refTime: state.scoreRefTime }, now, p.halfLifeMs);
  const score = activityScore(sum, p.scoreK);
  return { activityScore: score, tier: tierFor(score, state.vip, p.tiers) };
}

export const isStale = (state: UserState, now: number, p: FeatureParams): boolean =>
  state.fromDurableCopy === true || (state.version > 0 && now - state.updatedAt > p.freshnessMs);

/** Latest first: by the stamp of the latest interaction (ties: the greater eventId), then by item id. */
export const latestFirst = (a: RecentItem, b: RecentItem): number => newerFirst(a, b) || (a.itemId < b.itemId ? 1 : a.itemId > b.itemId ? -1 : 0);

export const recentItemsOf = (state: UserState, p: FeatureParams): RecentItem[] =>
  Object.entries(state.recent)
    .map(([itemId, stamp]) => ({ itemId, at: stamp.at, eventId: stamp.eventId }))
    .sort(latestFirst)
    .slice(0, p.recentItems);

export const topCategoriesOf = (state: UserState, now: number, p: FeatureParams): CategoryAffinity[] =>
  Object.entries(state.categories)
    .sort(([ca, a], [cb, b]) => b - a || (ca < cb ? -1 : 1))
    .slice(0, p.topCategories)
    .map(([category, scaled]) => ({ category, affinity: affinityAt(scaled, now, p.affinityEpochMs, p.halfLifeMs) }));

/** Events of `type` in window `w` (index `index` of the configured windows) ending at `now`. */
export function windowCount(state: UserState, now: number, w: WindowSpec, index: number, type: ActivityType): number {
  const first = firstLiveBucket(w, now);
  const last = bucketOf(w, now);
  const prefix = `${index}:${type}:`;
  let count = 0;
  for (const field in state.buckets) {
    if (!field.startsWith(prefix)) continue;
    const bucket = Number(field.slice(prefix.length));
    if (bucket >= first && bucket <= last) count += state.buckets[field]!;
  }
  return count;
}

/** Events per type in each window ending at `now`, at bucket resolution. */
export function windowCounts(state: UserState, now: number, p: FeatureParams): Record<WindowName, Record<ActivityType, number>> {
  return Object.fromEntries(
    p.windows.map((w, i) => [w.name, Object.fromEntries(ACTIVITY_TYPES.map((t) => [t, windowCount(state, now, w, i, t)]))]),
  ) as Record<WindowName, Record<ActivityType, number>>;
}

/** Everything at once, for tests and tools; resolvers use the parts. */
export interface UserView {
  readonly activityScore: number;
  readonly tier: Tier;
  readonly version: number;
  /** When the state last changed (epoch ms); 0 for an unknown user. */
  readonly asOf: number;
  readonly isStale: boolean;
  readonly lastActivity: LastActivity | null;
  readonly lastViewed: LastViewed | null;
  readonly counts: Readonly<Record<WindowName, Readonly<Record<ActivityType, number>>>>;
  readonly recentItems: readonly RecentItem[];
  readonly topCategories: readonly CategoryAffinity[];
}

export function viewOf(state: UserState, now: number, p: FeatureParams): UserView {
  return {
    ...scoreOf(state, now, p),
    version: state.version,
    asOf: state.updatedAt,
    isStale: isStale(state, now, p),
    lastActivity: state.lastActivity,
    lastViewed: state.lastViewed,
    counts: windowCounts(state, now, p),
    recentItems: recentItemsOf(state, p),
    topCategories: topCategoriesOf(state, now, p),
  };
}
