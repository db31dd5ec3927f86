/**
 * The per-user state the processor maintains and every reader derives its
 * view from. It holds raw, time-independent values (a decayed sum with its
 * reference time, not a score), so the view is computed at read time.
 */
export interface UserState {
  /** Monotonic; every change bumps it. */
  readonly version: number;
  /** Decayed weighted sum of events at `scoreRefTime`. */
  readonly scoreSum: number;
  /** Epoch ms at which `scoreSum` holds. */
  readonly scoreRefTime: number;
  /** From the static profile: a VIP's tier is at least GOLD. */
  readonly vip: boolean;
  /** Epoch ms of the last change. */
  readonly updatedAt: number;
}

/** What an unknown user looks like: no activity, never an error. */
export const DEFAULT_USER_STATE: UserState = Object.freeze({
  version: 0,
  scoreSum: 0,
  scoreRefTime: 0,
  vip: false,
  updatedAt: 0,
});
