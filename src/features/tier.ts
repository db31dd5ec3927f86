/**
 * Tiers from the activity score. The boundaries are part of the contract:
 * PLATINUM ≥ platinumMin, GOLD > goldAbove, SILVER ≥ silverMin, else BRONZE
 * (so a score of exactly 80 is SILVER). A VIP is never below GOLD.
 */

export type Tier = 'BRONZE' | 'SILVER' | 'GOLD' | 'PLATINUM';

export interface TierThresholds {
  readonly platinumMin: number;
  readonly goldAbove: number;
  readonly silverMin: number;
}

const ORDER: readonly Tier[] = ['BRONZE', 'SILVER', 'GOLD', 'PLATINUM'];

export function tierForScore(score: number, t: TierThresholds): Tier {
  if (score >= t.platinumMin) return 'PLATINUM';
  if (score > t.goldAbove) return 'GOLD';
  if (score >= t.silverMin) return 'SILVER';
  return 'BRONZE';
}

/** The higher of two tiers. */
export function maxTier(a: Tier, b: Tier): Tier {
  return ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b;
}

export function tierFor(score: number, vip: boolean, t: TierThresholds): Tier {
  const byScore = tierForScore(score, t);
  return vip ? maxTier(byScore, 'GOLD') : byScore;
}
