/**
 * The contract every ProfileStore keeps, run against MongoDB (integration)
 * and the in-process twin (unit) alike.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import type { UserProfile, ProfileStore } from '../../src/stores/profile.js';

const profile = (userId: string, version: number): UserProfile => ({
  userId,
  version,
  state: { ...DEFAULT_USER_STATE, version, scoreSum: version * 3.25, scoreRefTime: 1_700_000_000_000, vip: version % 2 === 0, updatedAt: 1_700_000_000_001 },
  updatedAt: 1_700_000_000_000 + version,
});

export function profileStoreContract(name: string, open: () => Promise<ProfileStore>): void {
  describe(`ProfileStore contract: ${name}`, () => {
    let store: ProfileStore;
    beforeEach(async () => {
      store = await open();
      await store.init();
    });
    afterEach(async () => {
      await store.close();
    });

    it('answers a ping, and init is idempotent', async () => {
      await store.init();
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('inserts, then finds in request order with gaps for unknown users', async () => {
      expect(await store.upsertIfNewer(profile('a', 1))).toBe('written');
      expect(await store.upsertIfNewer(profile('b', 4))).toBe('written');
      expect(await store.findMany(['b', 'nobody', 'a'])).toEqual([profile('b', 4), undefined, profile('a', 1)]);
      expect(await store.findMany([])).toEqual([]);
    });

    it('applies a newer version and reports an equal or older one as stale', async () => {
      await store.upsertIfNewer(profile('u', 3));
      expect(await store.upsertIfNewer(profile('u', 3))).toBe('stale');
      expect(await store.upsertIfNewer(profile('u', 2))).toBe('stale');
      expect(await store.findMany(['u'])).toEqual([profile('u', 3)]);
      expect(await store.upsertIfNewer(profile('u', 4))).toBe('written');
      expect(await store.findMany(['u'])).toEqual([profile('u', 4)]);
    });

    it('never lets the stored version decrease under concurrent writers', async () => {
      const versions = Array.from({ length: 40 }, (_, i) => (i * 17) % 40 + 1);
      const outcomes = await Promise.all(versions.map((v) => store.upsertIfNewer(profile('c', v))));
      expect(outcomes).toContain('written');
      expect((await store.findMany(['c']))[0]?.version).toBe(40);
    });
  });
}
