/**
 * Sliding-window counts. Window W is kept as 30 buckets of width W/30
 * (bucket i holds events with occurredAt in [i·width, (i+1)·width)). The count
 * at time `now` is the sum of the 30 buckets ending with the one holding
 * `now`, so it counts events in (now − W, now] to within one bucket.
 */

export const WINDOW_NAMES = ['LAST_30S', 'LAST_5M', 'LAST_1H', 'LAST_24H'] as const;
export type WindowName = (typeof WINDOW_NAMES)[number];

export interface WindowSpec {
  readonly name: WindowName;
  readonly lengthMs: number;
  /** Buckets per window; width = lengthMs / buckets. */
  readonly buckets: number;
}

export const DEFAULT_WINDOWS: readonly WindowSpec[] = Object.freeze([
  { name: 'LAST_30S', lengthMs: 30_000, buckets: 30 },
  { name: 'LAST_5M', lengthMs: 300_000, buckets: 30 },
  { name: 'LAST_1H', lengthMs: 3_600_000, buckets: 30 },
  { name: 'LAST_24H', lengthMs: 86_400_000, buckets: 30 },
]);

export const bucketWidth = (w: WindowSpec): number => w.lengthMs / w.buckets;
export const bucketOf = (w: WindowSpec, at: number): number => Math.floor(at / bucketWidth(w));

/** The lowest bucket index still inside the window that ends at `at`. */
export const firstLiveBucket = (w: WindowSpec, at: number): number => bucketOf(w, at) - w.buckets + 1;

/** Field name of one bucket count: window index, type, bucket index. */
export const bucketField = (windowIndex: number, type: string, bucket: number): string =>
  `${windowIndex}:${type}:${bucket}`;

export function parseBucketField(field: string): { window: number; type: string; bucket: number } {
  const [window, type, bucket] = field.split(':');
  return { window: Number(window), type: type ?? '', bucket: Number(bucket) };
}
