/**
 * The contract every UserStateStore keeps, run against the Redis store
 * (integration) and its in-process twin (unit) alike.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserState } from '../../src/features/state.js';
import type { UserStateStore } from '../../src/stores/user-state.js';

const state = (version: number, extra: Partial<UserState> = {}): UserState => ({
  version,
  scoreSum: 12.5 * version,
  scoreRefTime: 1_700_000_000_000 + version,
  vip: false,
  updatedAt: 1_700_000_000_500 + version,
  ...extra,
});

export function userStateStoreContract(name: string, open: () => Promise<UserStateStore>): void {
  describe(`UserStateStore contract: ${name}`, () => {
    let store: UserStateStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('returns undefined for unknown users, in request order', async () => {
      await store.putIfNewer('known', state(1));
      const loaded = await store.loadMany(['nobody', 'known', 'also-nobody']);
      expect(loaded).toEqual([undefined, state(1), undefined]);
    });

    it('round-trips every field exactly', async () => {
      const s = state(7, { vip: true, scoreSum: 0.1 + 0.2, scoreRefTime: 1_731_000_000_123 });
      await store.putIfNewer('u', s);
      expect(await store.loadMany(['u'])).toEqual([s]);
    });

    it('writes a newer version and refuses an equal or older one', async () => {
      expect(await store.putIfNewer('u', state(2))).toBe(true);
      expect(await store.putIfNewer('u', state(2, { scoreSum: 999 }))).toBe(false);
      expect(await store.putIfNewer('u', state(1))).toBe(false);
      expect(await store.loadMany(['u'])).toEqual([state(2)]);
      expect(await store.putIfNewer('u', state(3))).toBe(true);
      expect(await store.loadMany(['u'])).toEqual([state(3)]);
    });

    it('loads many users at once, repeated ids included', async () => {
      const ids = Array.from({ length: 100 }, (_, i) => `user-${i}`);
      for (const [i, id] of ids.entries()) await store.putIfNewer(id, state(i + 1));
      const loaded = await store.loadMany([...ids, 'user-3']);
      expect(loaded).toHaveLength(101);
      expect(loaded[42]).toEqual(state(43));
      expect(loaded[100]).toEqual(state(4));
      expect(await store.loadMany([])).toEqual([]);
    });

    it('keeps users apart', async () => {
      await store.putIfNewer('a', state(5));
      await store.putIfNewer('b', state(1));
      expect(await store.loadMany(['a', 'b'])).toEqual([state(5), state(1)]);
    });
  });
}
