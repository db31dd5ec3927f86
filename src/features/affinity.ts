/**
 * Decayed category affinity without rewriting every category on every event.
 *
 * All categories of a user decay by the same factor, so instead of decaying
 * each one to "now" we store w · 2^((t − epoch)/halfLife): the weight scaled
 * up to a fixed epoch. Ordering between categories never changes with time,
 * adding is commutative, and the decayed value at `now` is the stored value
 * times 2^(−(now − epoch)/halfLife). Doubles hold this for ~1000 half-lives
 * past the epoch (about 19 years at a 7-day half-life).
 *
 * A user keeps only the `maxCategories` most affine (100 by default, for a
 * top 5). Every kept affinity is exact. A dropped one is forgotten: if the
 * category comes back it restarts from its new events, so it can be short by
 * at most the smallest kept affinity at the time it was dropped. The top N
 * is therefore exact unless a category climbs from beyond the cap into it.
 */
export function scaledWeight(weight: number, occurredAt: number, epochMs: number, halfLifeMs: number): number {
  return weight * Math.pow(2, (occurredAt - epochMs) / halfLifeMs);
}

export function affinityAt(scaled: number, now: number, epochMs: number, halfLifeMs: number): number {
  return scaled * Math.pow(2, -(now - epochMs) / halfLifeMs);
}
