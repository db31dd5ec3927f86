/**
 * Decayed category affinity without rewriting every category on every event.
 *
 * All categories of a user decay by the same factor, so instead of decaying
 * each one to "now" we store w · 2^((t − epoch)/halfLife): the weight scaled
 * up to a fixed epoch. Ordering between categories never changes with time,
 * adding is commutative, and the decayed value at `now` is the stored value
 * times 2^(−(now − epoch)/halfLife). Doubles hold this for ~1000 half-lives
 * past the epoch (about 19 years at a 7-day half-life).
 */
export function scaledWeight(weight: number, occurredAt: number, epochMs: number, halfLifeMs: number): number {
  return weight * Math.pow(2, (occurredAt - epochMs) / halfLifeMs);
}

export function affinityAt(scaled: number, now: number, epochMs: number, halfLifeMs: number): number {
  return scaled * Math.pow(2, -(now - epochMs) / halfLifeMs);
}
