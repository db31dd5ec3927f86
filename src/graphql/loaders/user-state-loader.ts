/**
 * One DataLoader per request over the user state store: every User the
 * request touches is fetched in one `loadMany` (one Redis round trip), up to
 * `maxBatchSize` keys per batch. Unknown users resolve to the defaults.
 */
import DataLoader from 'dataloader';
import { DEFAULT_USER_STATE, type UserState } from '../../features/state.js';
import type { UserStateStore } from '../../stores/user-state.js';

export type UserStateLoader = DataLoader<string, UserState>;

export function createUserStateLoader(
  store: UserStateStore,
  maxBatchSize: number,
  onBatch: (size: number) => void = () => {},
): UserStateLoader {
  return new DataLoader<string, UserState>(
    async (ids) => {
      onBatch(ids.length);
      return (await store.loadMany(ids)).map((state) => state ?? DEFAULT_USER_STATE);
    },
    { maxBatchSize },
  );
}
