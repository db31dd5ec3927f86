/** Every constant of the feature maths, with the documented defaults (config overrides them). */
import { DEFAULT_WEIGHTS, type ActivityType } from './activity.js';
import type { TierThresholds } from './tier.js';
import { DEFAULT_WINDOWS, type WindowSpec } from './windows.js';

const DAY_MS = 86_400_000;

export interface FeatureParams {
  readonly weights: Readonly<Record<ActivityType, number>>;
  readonly halfLifeMs: number;
  /** activityScore = 100·(1 − e^(−S/K)). */
  readonly scoreK: number;
  readonly tiers: TierThresholds;
  readonly windows: readonly WindowSpec[];
  readonly recentItems: number;
  readonly topCategories: number;
  /**
   * Categories kept per user, the most affine (≥ topCategories): the set stays
   * bounded however many a user touches. A dropped category that comes back
   * restarts from its new events (see affinity.ts).
   */
  readonly maxCategories: number;
  /** An event id is remembered for at least this span of arrival time (≥ 24 h): re-sends within it change nothing. */
  readonly dedupeHorizonMs: number;
  /**
   * Seen ids kept per user, the latest recorded, within the horizon: keeps a
   * very active user's document far below MongoDB's 16 MiB (16 bytes an id in
   * the stores). A re-send of an id dropped early counts again.
   */
  readonly maxSeenIds: number;
  /** Events dated this long before their arrival are dropped (counted as expired). */
  readonly maxEventAgeMs: number;
  /** Events dated this far after their arrival are dead-lettered: they would move the user's reference time. */
  readonly maxClockSkewMs: number;
  /** Category affinities are scaled to this instant (epoch ms); see affinity.ts. */
  readonly affinityEpochMs: number;
  /** `isStale` once a user's state has not changed for this long. */
  readonly freshnessMs: number;
}

export const DEFAULT_FEATURE_PARAMS: FeatureParams = Object.freeze({
  weights: DEFAULT_WEIGHTS,
  halfLifeMs: 7 * DAY_MS,
  scoreK: 50,
  tiers: Object.freeze({ platinumMin: 95, goldAbove: 80, silverMin: 40 }),
  windows: DEFAULT_WINDOWS,
  recentItems: 20,
  topCategories: 5,
  maxCategories: 100,
  dedupeHorizonMs: DAY_MS,
  maxSeenIds: 100_000,
  maxEventAgeMs: 30 * DAY_MS,
  maxClockSkewMs: 5 * 60_000,
  affinityEpochMs: Date.UTC(2025, 0, 1),
  freshnessMs: DAY_MS,
});

/** Every constant of the recommendation maths (see cooccurrence.ts and recommend.ts). */
export interface RecommendationParams {
  /** Off: the processor keeps no item graph and users get no recommendations. */
  readonly enabled: boolean;
  /** K: an interaction pairs its item with at most this many of the user's latest items. */
  readonly anchors: number;
  /** M: each item keeps at most this many neighbours per relation, the strongest. */
  readonly neighbours: number;
  /** The largest `limit` a client may ask for (recommendations, alsoViewed, alsoBought). */
  readonly maxLimit: number;
  /** An anchor this much older than the user's latest item counts half. */
  readonly recencyHalfLifeMs: number;
  /** Trending popularity halves over this span of event time. */
  readonly trendingHalfLifeMs: number;
  /** Items the trending list keeps. */
  readonly trendingSize: number;
}

export const DEFAULT_RECOMMENDATION_PARAMS: RecommendationParams = Object.freeze({
  enabled: true,
  anchors: 10,
  neighbours: 50,
  maxLimit: 50,
  recencyHalfLifeMs: DAY_MS,
  trendingHalfLifeMs: DAY_MS,
  trendingSize: 500,
});
