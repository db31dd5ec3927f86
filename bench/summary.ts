/**
 * The figures of several runs of one benchmark, as one: each number becomes
 * its median with the range it spread over, `{ median, min, max }`; what is
 * not a number (the machine, a label) is kept from the first run. Runs whose
 * shapes differ keep the first run's shape. Pure, tested without I/O.
 */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export type Summary = Spread | string | boolean | null | Summary[] | { [key: string]: Summary };

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The `p`th percentile of `xs` (nearest rank, rounded down), NaN when empty. */
export const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export function summarise(runs: readonly unknown[]): Summary {
  const [first] = runs;
  if (typeof first === 'number') {
    const xs = runs.filter((r): r is number => typeof r === 'number' && Number.isFinite(r));
    return xs.length === 0 ? null : { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  }
  if (Array.isArray(first)) return first.map((_, i) => summarise(runs.map((r): unknown => (Array.isArray(r) ? (r as unknown[])[i] : undefined))));
  if (first !== null && typeof first === 'object') {
    const out: Record<string, Summary> = {};
    for (const key of Object.keys(first)) out[key] = summarise(runs.map((r) => (r !== null && typeof r === 'object' ? (r as Record<string, unknown>)[key] : undefined)));
    return out;
  }
  return typeof first === 'string' || typeof first === 'boolean' ? first : null;
}
