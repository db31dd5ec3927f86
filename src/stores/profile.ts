/**
 * The durable copy of users in MongoDB (`user_profiles`, `_id` = userId):
 * each user's snapshot (state, static profile included, and seen event ids:
 * enough to rebuild the Redis state exactly), written by the sync. Writes are
 * version-checked: an older version never replaces a newer one, whatever order
 * concurrent writers reach the server in.
 * Beside them, per Kafka partition, the offsets the snapshots cover.
 */
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
  /** The profiles of `userIds`, in order, `undefined` where none is stored, in one call. */
  findMany(userIds: readonly string[]): Promise<(UserProfile | undefined)[]>;
  /** Every stored profile, in batches. */
  scan(batchSize: number): AsyncIterable<UserProfile[]>;
  /** Raises the recorded offset of each partition to the given one; never lowers it. */
  saveCheckpoint(offsets: PartitionOffsets): Promise<void>;
  loadCheckpoint(): Promise<PartitionOffsets>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
