/**
 * The read-time view of a user's state at `now`: the score decayed to `now`,
 * the tier, window counts, recent items, top categories and freshness.
 */
import { ACTIVITY_TYPES, type ActivityType } from './activity.js';
import { affinityAt } from './affinity.js';
import type { FeatureParams } from './params.js';
import { activityScore, decayTo } from './score.js';
import type { LastActivity, LastViewed, UserState } from './state.js';
import { tierFor, type Tier } from './tier.js';
import { bucketOf, firstLiveBucket, parseBucketField, type WindowName } from './windows.js';

export type { FeatureParams };

export interface RecentItem {
  readonly itemId: string;
  readonly at: number;
}
export interface CategoryAffinity {
  readonly category: string;
  readonly affinity: number;
}

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
  const { sum } = decayTo({ sum: state.scoreSum, refTime: state.scoreRefTime }, now, p.halfLifeMs);
  const score = activityScore(sum, p.scoreK);
  return {
    activityScore: score,
    tier: tierFor(score, state.vip, p.tiers),
    version: state.version,
    asOf: state.updatedAt,
    isStale: state.version > 0 && now - state.updatedAt > p.freshnessMs,
    lastActivity: state.lastActivity,
    lastViewed: state.lastViewed,
    counts: windowCounts(state, now, p),
    recentItems: Object.entries(state.recent)
      .map(([itemId, at]) => ({ itemId, at }))
      .sort((a, b) => b.at - a.at || (a.itemId < b.itemId ? 1 : -1))
      .slice(0, p.recentItems),
    topCategories: Object.entries(state.categories)
      .sort(([ca, a], [cb, b]) => b - a || (ca < cb ? -1 : 1))
      .slice(0, p.topCategories)
      .map(([category, scaled]) => ({ category, affinity: affinityAt(scaled, now, p.affinityEpochMs, p.halfLifeMs) })),
  };
}

const zeroCounts = (): Record<ActivityType, number> =>
  Object.fromEntries(ACTIVITY_TYPES.map((t) => [t, 0])) as Record<ActivityType, number>;

/** Events per type in each window ending at `now`, at bucket resolution. */
export function windowCounts(state: UserState, now: number, p: FeatureParams): Record<WindowName, Record<ActivityType, number>> {
  const counts = Object.fromEntries(p.windows.map((w) => [w.name, zeroCounts()])) as Record<
    WindowName,
    Record<ActivityType, number>
  >;
  for (const [field, n] of Object.entries(state.buckets)) {
    const { window, type, bucket } = parseBucketField(field);
    const w = p.windows[window];
    if (w === undefined || bucket < firstLiveBucket(w, now) || bucket > bucketOf(w, now)) continue;
    counts[w.name][type as ActivityType] += n;
  }
  return counts;
}
