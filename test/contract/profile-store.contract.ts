/**
 * The contract every ProfileStore keeps, run against MongoDB (FerretDB, in
 * integration) and the in-process twin (unit) alike.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import type { ProfileStore, UserProfile } from '../../src/stores/profile.js';
import { packLegacySeen } from '../../src/contracts/seen-ids.js';

const profile = (userId: string, version: number): UserProfile => ({
  userId,
  version,
  snapshot: {
    state: {
      ...DEFAULT_USER_STATE,
      version,
      scoreSum: version * 3.25,
      scoreRefTime: 1_700_000_000_000,
      updatedAt: 1_700_000_000_001,
      profileVersion: 1,
      lastActivity: { at: 1_700_000_000_000, eventId: 'e.1', type: 'VIEW' },
      lastViewed: { at: 1_700_000_000_000, eventId: 'e.1', itemId: 'sku.9' },
      buckets: { '0:VIEW:56666666666': 2, '3:VIEW:590277': 1 },
      recent: { 'sku.9': { at: 1_700_000_000_000, eventId: 'e.1' }, 'a$b': { at: 1_699_999_999_000, eventId: '$e2' } },
      categories: { 'home.garden': 0.125, books: 3.5 },
    },
    seen: packLegacySeen({ 'e.1': 1_700_000_000_000, '$e2': 1_699_999_999_000 }).toString('base64'),
    offsets: { 'user-activity/2': 9_007_199_254_740, 'legacy.public.user_activity/0': 0 },
  },
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

    it('round-trips a whole snapshot (ids with dots and dollars included), in request order', async () => {
      expect(await store.upsertIfNewer(profile('a', 1))).toBe('written');
      expect(await store.upsertIfNewer(profile('b', 4))).toBe('written');
      expect(await store.findMany(['b', 'nobody', 'a'])).toEqual([profile('b', 4), undefined, profile('a', 1)]);
      expect(await store.findMany([])).toEqual([]);
    });

    it('applies a newer snapshot and reports an equal or older one as stale', async () => {
      await store.upsertIfNewer(profile('u', 3));
      expect(await store.upsertIfNewer(profile('u', 3))).toBe('stale');
      expect(await store.upsertIfNewer(profile('u', 2))).toBe('stale');
      expect((await store.findMany(['u']))[0]?.version).toBe(3);
      expect(await store.upsertIfNewer(profile('u', 4))).toBe('written');
      expect((await store.findMany(['u']))[0]?.version).toBe(4);
    });

    it('never lets the stored version decrease under concurrent writers', async () => {
      const versions = Array.from({ length: 40 }, (_, i) => ((i * 17) % 40) + 1);
      const outcomes = await Promise.all(versions.map((v) => store.upsertIfNewer(profile('c', v))));
      expect(outcomes).toContain('written');
      expect((await store.findMany(['c']))[0]?.version).toBe(40);
    });

    it('keeps the static profile inside the snapshot: a newer snapshot’s fields replace an older one’s, never the reverse', async () => {
      const withStatic = (version: number, profileVersion: number, vip: boolean, status: string | null): UserProfile => {
        const p = profile('v', version);
        return { ...p, snapshot: { ...p.snapshot, state: { ...p.snapshot.state, profileVersion, vip, status } } };
      };
      expect(await store.upsertIfNewer(withStatic(2, 5, true, 'active'))).toBe('written');
      expect(await store.upsertIfNewer(withStatic(1, 9, false, 'closed'))).toBe('stale');
      expect((await store.findMany(['v']))[0]!.snapshot.state).toMatchObject({ version: 2, profileVersion: 5, vip: true, status: 'active' });
      expect(await store.upsertIfNewer(withStatic(3, 6, false, null))).toBe('written');
      expect((await store.findMany(['v']))[0]).toEqual(withStatic(3, 6, false, null));
    });

    it('scans every profile in batches', async () => {
      for (let i = 0; i < 7; i++) await store.upsertIfNewer(profile(`s${i}`, 1));
      const batches: string[][] = [];
      for await (const batch of store.scan(3)) batches.push(batch.map((p) => p.userId));
      expect(batches.map((b) => b.length)).toEqual([3, 3, 1]);
      expect(batches.flat().sort()).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6']);
    });

    it('raises checkpoint offsets per partition and never lowers them', async () => {
      expect(await store.loadCheckpoint()).toEqual({});
      await store.saveCheckpoint({ 'user-activity/0': 10, 'user-activity/1': 5 });
      await store.saveCheckpoint({ 'user-activity/0': 7, 'user-activity/1': 9, 'legacy.cdc/0': 3 });
      expect(await store.loadCheckpoint()).toEqual({ 'user-activity/0': 10, 'user-activity/1': 9, 'legacy.cdc/0': 3 });
    });
  });
}
