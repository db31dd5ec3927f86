import type { UserState } from '../features/state.js';

export type { UserState };

/** Online state: one read for many users, version-checked writes. */
export interface UserStateStore {
  /** The states of `userIds`, in order, `undefined` for unknown users, in one round trip. */
  loadMany(userIds: readonly string[]): Promise<(UserState | undefined)[]>;
  /** Writes `state` unless the stored version is already ≥ `state.version`; true when written. */
  putIfNewer(userId: string, state: UserState): Promise<boolean>;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
