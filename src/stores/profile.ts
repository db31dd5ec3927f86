/**
 * The durable copy of a user in MongoDB (`user_profiles`, `_id` = userId).
 * Writes are version-checked: an older version never replaces a newer one,
 * whatever order concurrent writers reach the server in.
 */
import type { UserState } from '../features/state.js';

export interface UserProfile {
  readonly userId: string;
  readonly version: number;
  /** Enough to rebuild the online state exactly. */
  readonly state: UserState;
  /** Epoch ms of the write. */
  readonly updatedAt: number;
}

export type UpsertOutcome = 'written' | 'stale';

export interface ProfileStore {
  /** Creates the collection's indexes; idempotent. */
  init(): Promise<void>;
  /** Writes `profile` unless the stored version is ≥ its version. */
  upsertIfNewer(profile: UserProfile): Promise<UpsertOutcome>;
  /** The profiles of `userIds`, in order, `undefined` where none is stored, in one query. */
  findMany(userIds: readonly string[]): Promise<(UserProfile | undefined)[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
