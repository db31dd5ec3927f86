/**
 * The activity score: an exponentially decayed, weighted sum of events.
 *
 * The sum S is stored together with the reference time it is valid at. Decay
 * is multiplicative, so S can be carried to any later time without knowing
 * the events: S(t) = S(ref) · 2^(−(t − ref) / halfLife). A read decays to
 * "now", so a score read later is lower without any write, and adding events
 * in any order gives the same S (each event's contribution is decayed from its
 * own time, and addition commutes).
 */

/** A decayed sum and the time (epoch ms) at which it holds. */
export interface DecayedSum {
  readonly sum: number;
  readonly refTime: number;
}

export const EMPTY_SUM: DecayedSum = Object.freeze({ sum: 0, refTime: 0 });

/** The factor by which a value decays over `elapsedMs` (grows when negative). */
export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  return Math.pow(2, -elapsedMs / halfLifeMs);
}

/** `s` carried to time `at`. */
export function decayTo(s: DecayedSum, at: number, halfLifeMs: number): DecayedSum {
  if (s.sum === 0) return { sum: 0, refTime: at };
  return { sum: s.sum * decayFactor(at - s.refTime, halfLifeMs), refTime: at };
}

/**
 * Adds `weight`, earned at `occurredAt`, to `s`. The reference time moves
 * forward only, so late events are decayed into the present, never the past.
 */
export function addWeighted(s: DecayedSum, weight: number, occurredAt: number, halfLifeMs: number): DecayedSum {
  const refTime = Math.max(s.refTime, occurredAt);
  const carried = s.sum === 0 ? 0 : s.sum * decayFactor(refTime - s.refTime, halfLifeMs);
  return { sum: carried + weight * decayFactor(refTime - occurredAt, halfLifeMs), refTime };
}

/** Maps a decayed sum onto [0, 100): 100·(1 − e^(−S/K)). */
export function activityScore(sum: number, k: number): number {
  if (sum <= 0) return 0;
  return 100 * (1 - Math.exp(-sum / k));
}
