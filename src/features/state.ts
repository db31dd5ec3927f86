/**
 * The per-user state the processor maintains and every reader derives its
 * view from. It holds raw, time-independent values (a decayed sum with its
 * reference time, bucket counts, scaled affinities), so the view is computed
 * at read time and a later read sees a lower score without any write.
 *
 * Redis keeps exactly these fields (src/stores/redis-user-state-store.ts), the
 * in-process twin keeps this object, and the Lua script mirrors `applyEvents`.
 */
import type { ActivityType } from './activity.js';

/** The latest event of a kind, by event time; ties go to the greater eventId. */
export interface Stamp {
  readonly at: number;
  readonly eventId: string;
}
export interface LastActivity extends Stamp {
  readonly type: ActivityType;
}
export interface LastViewed extends Stamp {
  readonly itemId: string;
}

export interface UserState {
  /** Monotonic; every change bumps it. */
  readonly version: number;
  /** Epoch ms (processing time) of the last change. */
  readonly updatedAt: number;
  /** The greatest occurredAt applied: window buckets behind it are pruned. */
  readonly watermark: number;
  /** Decayed weighted sum of events at `scoreRefTime`. */
  readonly scoreSum: number;
  readonly scoreRefTime: number;
  /** Static profile: a VIP's tier is at least GOLD. */
  readonly vip: boolean;
  readonly status: string | null;
  readonly profileVersion: number;
  readonly lastActivity: LastActivity | null;
  readonly lastViewed: LastViewed | null;
  /** Window bucket counts by `bucketField(window, type, bucket)`. */
  readonly buckets: Readonly<Record<string, number>>;
  /** Recent distinct items → the stamp of their latest interaction; at most `recentItems` entries. */
  readonly recent: Readonly<Record<string, Stamp>>;
  /** Category → affinity scaled to the decay epoch (see affinity.ts). */
  readonly categories: Readonly<Record<string, number>>;
  /** Read from the durable copy while the online state was being recovered: shown as stale. Never stored. */
  readonly fromDurableCopy?: boolean;
}

/** What an unknown user looks like: no activity, never an error. */
export const DEFAULT_USER_STATE: UserState = Object.freeze({
  version: 0,
  updatedAt: 0,
  watermark: 0,
  scoreSum: 0,
  scoreRefTime: 0,
  vip: false,
  status: null,
  profileVersion: 0,
  lastActivity: null,
  lastViewed: null,
  buckets: Object.freeze({}),
  recent: Object.freeze({}),
  categories: Object.freeze({}),
});

/** A later stamp: by time, then by eventId, so the winner does not depend on arrival order. */
export function isNewer(candidate: Stamp, current: Stamp | null | undefined): boolean {
  if (current == null) return true;
  if (candidate.at !== current.at) return candidate.at > current.at;
  return candidate.eventId > current.eventId;
}

/** Sort order of stamps, the newest first (the order `isNewer` defines). */
export const newerFirst = (a: Stamp, b: Stamp): number => b.at - a.at || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0);
