import type { Delivery, ProfileUpdate } from '../features/apply.js';
import type { UserState } from '../features/state.js';
import type { RecentItem } from '../features/view.js';
import type { UserSnapshot } from '../contracts/user-snapshot.js';

export type { UserState };

/** What applying one user's events did. */
export interface UserBatchResult {
  /** The user's version after the batch (unchanged when nothing was applied). */
  readonly version: number;
  readonly applied: number;
  /** Seen before under the same eventId. */
  readonly resent: number;
  /** An offset already taken from the same topic-partition. */
  readonly redelivered: number;
  /** Per event, in order: applied now for the first time (neither a re-send nor a redelivery). */
  readonly fresh: readonly boolean[];
  /** The user's latest items before the batch, latest first, as many as `ApplyOptions.latestBefore` asked. */
  readonly latestBefore: readonly RecentItem[];
}

export interface ApplyOptions {
  /** How many of each user's latest items before the batch to report (the item graph's anchors); 0 by default. */
  readonly latestBefore?: number;
  /**
   * Apply only to users the store holds: one it does not (expired, or lost
   * with Redis) is left untouched and out of the results, to be restored
   * from MongoDB first (restoring-store.ts). By default an absent user starts
   * from the defaults.
   */
  readonly onlyPresent?: boolean;
}

/** A user whose stored version MongoDB now holds. */
export interface SyncedUser {
  readonly userId: string;
  readonly version: number;
}

/**
 * The online state. Every method touching many users costs one round trip (applyEvents: one per 500 users);
 * every change to one user is atomic and bumps the user's version.
 */
export interface LoadOptions {
  /**
   * Users for whom only the scalar fields are wanted (version, score, stamps,
   * profile): their buckets, recent items and categories may come back empty.
   */
  readonly scalarsOnly?: ReadonlySet<string>;
}

export interface UserStateStore {
  /** The states of `userIds`, in order, `undefined` for unknown users. */
  loadMany(userIds: readonly string[], options?: LoadOptions): Promise<(UserState | undefined)[]>;
  /**
   * Applies each user's events (see features/apply.ts), atomically per user,
   * and marks changed users dirty for the sync.
   */
  applyEvents(byUser: ReadonlyMap<string, readonly Delivery[]>, now: number, options?: ApplyOptions): Promise<Map<string, UserBatchResult>>;
  /** Applies a static profile update; the new version, or 0 when the stored profile is as new. */
  applyProfile(update: ProfileUpdate, now: number): Promise<number>;
  /** Snapshots of `userIds`, in order, `undefined` for unknown users. */
  exportMany(userIds: readonly string[]): Promise<(UserSnapshot | undefined)[]>;
  /**
   * Replaces a user's state unless the stored version is already ≥ the
   * snapshot's (or whatever it is, with `force`: after a loss, what Redis holds
   * is only what uncommitted batches wrote); true when written.
   */
  restore(userId: string, snapshot: UserSnapshot, options?: { readonly force?: boolean; readonly idleTtlMs?: number }): Promise<boolean>;
  /**
   * Starts the idle countdown of users whose stored version is still the one
   * MongoDB now holds: untouched for `idleTtlMs`, every key of the user goes.
   * Applying anything to a user ends its countdown. Returns how many started.
   * (`restore` with `idleTtlMs` starts one too: a restored copy is durable.)
   */
  markSynced(users: readonly SyncedUser[], idleTtlMs: number): Promise<number>;
  /** Every user the store holds, in batches of about `batchSize` (a SCAN: for a store that holds few, as after a loss). */
  scanUsers(batchSize: number): AsyncIterable<string[]>;
  /** Removes users, every key of theirs. */
  drop(userIds: readonly string[]): Promise<void>;
  /**
   * Claims up to `max` users changed since their last sync, dirty longest
   * first, with a lease: claims whose lease has expired are given back first.
   */
  claimDirty(max: number, leaseMs: number, now: number): Promise<string[]>;
  /** Ends the claims of users whose state is now durable; a user changed since stays dirty. */
  completeClaims(userIds: readonly string[]): Promise<void>;
  /** How many users wait for a sync, and since when the oldest has (epoch ms by `dirtyClock`; undefined when none). */
  dirtyBacklog(): Promise<{ readonly dirty: number; readonly claimed: number; readonly oldestSince: number | undefined }>;
  /**
   * The time (epoch ms) by the clock that stamps dirty marks: the store's own
   * (Redis: TIME of the node holding the dirty index), never a writer's. The
   * sync reads it before it reads the processors' offsets and compares it with
   * the marks, all on one clock, so clocks that disagree across hosts cannot
   * make it record offsets before the users they cover are written.
   */
  dirtyClock(): Promise<number>;
  /**
   * The generation this store was brought online under (by a first start or
   * a recovery); undefined after a loss. A new one is drawn at every recovery,
   * so a writer that remembers its generation notices a loss it slept through.
   */
  generation(): Promise<string | undefined>;
  markOnline(generation: string): Promise<void>;
  /** Takes the recovery lock for `ttlMs` unless another instance holds it; true when taken. */
  lockRecovery(ttlMs: number): Promise<boolean>;
  unlockRecovery(): Promise<void>;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
