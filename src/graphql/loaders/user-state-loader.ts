/**
 * One DataLoader per request over the user state store. Every User the
 * request touches is fetched in one `loadMany`, one Redis round trip, up to
 * `maxBatchSize` users per batch. A key asks either for a user's scalars
 * (score, version, stamps) or for the whole state (window buckets, recent
 * items, categories too); a batch reads collections only for users someone
 * asked the whole state of. Unknown users resolve to the defaults.
 */
import DataLoader from 'dataloader';
import { DEFAULT_USER_STATE, type UserState } from '../../features/state.js';
import { DependencyError } from '../../errors.js';
import type { UserStateStore } from '../../stores/user-state.js';
import { unavailable } from '../errors.js';

export type UserStateKey = { readonly userId: string; readonly whole: boolean };
export type UserStateLoader = DataLoader<UserStateKey, UserState, string>;

export function createUserStateLoader(
  store: UserStateStore,
  maxBatchSize: number,
  onBatch: (size: number) => void = () => undefined,
): UserStateLoader {
  return new DataLoader<UserStateKey, UserState, string>(
    async (keys) => {
      const userIds = [...new Set(keys.map((k) => k.userId))];
      const whole = new Set(keys.filter((k) => k.whole).map((k) => k.userId));
      const scalarsOnly = new Set(userIds.filter((id) => !whole.has(id)));
      onBatch(userIds.length);
      const states = await store.loadMany(userIds, { scalarsOnly }).catch((error: unknown) => {
        // Both stores failed to answer: a coded error the client may retry, not a masked one.
        throw error instanceof DependencyError ? unavailable() : error;
      });
      const byId = new Map(userIds.map((id, i) => [id, states[i] ?? DEFAULT_USER_STATE]));
      return keys.map((k) => byId.get(k.userId)!);
    },
    { maxBatchSize, cacheKeyFn: (k) => `${k.whole ? 'w' : 's'}:${k.userId}` },
  );
}
