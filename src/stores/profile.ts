/**
 * The durable copy of users in MongoDB (`user_profiles`, `_id` = userId):
 * each user's snapshot (state and seen event ids: enough to rebuild the Redis
 * state exactly), written by the sync, and the static profile, written at once
 * by profile events. Writes are version-checked: an older version never
 * replaces a newer one, whatever order concurrent writers reach the server in.
 * Beside them, per Kafka partition, the offsets the snapshots cover.
 */
import type { ProfileUpdate } from '../features/apply.js';
import type { PartitionOffsets } from '../contracts/offset-checkpoint.js';
import type { UserSnapshot } from '../contracts/user-snapshot.js';

export interface UserProfile {
  readonly userId: string;
  /** The snapshot's state version. */
  readonly version: number;
  readonly snapshot: UserSnapshot;
  /** Epoch ms of the write. */
  readonly updatedAt: number;
}

export type UpsertOutcome = 'written' | 'stale';

export interface ProfileStore {
  /** Creates the collections' indexes; idempotent. */
  init(): Promise<void>;
  /** Writes a user's snapshot unless the stored snapshot's version is ≥ `version`. */
  upsertIfNewer(profile: UserProfile): Promise<UpsertOutcome>;
  /** Writes a static profile unless the stored one's version is ≥ its version. */
  applyStatic(update: ProfileUpdate, now: number): Promise<UpsertOutcome>;
  /**
   * The profiles of `userIds`, in order, `undefined` where none is stored, in
   * one query. A static profile newer than the snapshot's is merged into it.
   */
  findMany(userIds: readonly string[]): Promise<(UserProfile | undefined)[]>;
  /** Every stored profile, in batches (merged as findMany does). */
  scan(batchSize: number): AsyncIterable<UserProfile[]>;
  /** Raises the recorded offset of each partition to the given one; never lowers it. */
  saveCheckpoint(offsets: PartitionOffsets): Promise<void>;
  loadCheckpoint(): Promise<PartitionOffsets>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The snapshot with a newer static profile laid over its profile fields. */
export function withStatic(snapshot: UserSnapshot, profile: ProfileUpdate | undefined): UserSnapshot {
  if (!profile || profile.profileVersion <= snapshot.state.profileVersion) return snapshot;
  return {
    ...snapshot,
    state: { ...snapshot.state, profileVersion: profile.profileVersion, vip: profile.vip, status: profile.status },
  };
}
