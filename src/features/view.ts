/** The read-time view of a user's state: the score decayed to `now`, and the tier. */
import { activityScore, decayTo } from './score.js';
import type { UserState } from './state.js';
import { tierFor, type Tier, type TierThresholds } from './tier.js';

export interface FeatureParams {
  readonly halfLifeMs: number;
  readonly scoreK: number;
  readonly tiers: TierThresholds;
}

export interface UserView {
  readonly activityScore: number;
  readonly tier: Tier;
}

export function viewOf(state: UserState, now: number, p: FeatureParams): UserView {
  const { sum } = decayTo({ sum: state.scoreSum, refTime: state.scoreRefTime }, now, p.halfLifeMs);
  const score = activityScore(sum, p.scoreK);
  return { activityScore: score, tier: tierFor(score, state.vip, p.tiers) };
}
