import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createMongoProfileStore } from '../../src/stores/mongo-profile-store.js';
import { packLegacySeen } from '../../src/contracts/seen-ids.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import { profileStoreContract } from '../contract/profile-store.contract.js';
import { servers, unique } from '../support/servers.js';

profileStoreContract('MongoDB protocol', () =>
  createMongoProfileStore({ url: servers().MONGO_URL, db: unique('test').replace('-', '_') }),
);

describe('MongoDB profile documents', () => {
  it('reads a document written before the packed form (seen ids as JSON), and rewrites it packed, as binary', async () => {
    const db = unique('legacy').replace('-', '_');
    const client = new MongoClient(servers().MONGO_URL);
    const raw = client.db(db).collection<{ _id: string } & Record<string, unknown>>('user_profiles');
    const seen = { 'e.1': 1_700_000_000_000, $e2: 1_699_999_999_500 };
    const state = { ...DEFAULT_USER_STATE, version: 4, scoreSum: 2.5 };
    const { buckets, recent, categories, ...scalars } = state;
    await raw.insertOne({ _id: 'old', version: 4, updatedAt: new Date(), state: scalars, collections: JSON.stringify({ buckets, recent, categories, seen, offsets: { 'user-activity/0': 7 } }) });
    const store = await createMongoProfileStore({ url: servers().MONGO_URL, db });
    try {
      const [found] = await store.findMany(['old']);
      expect(found!.snapshot).toEqual({ state, seen: packLegacySeen(seen).toString('base64'), offsets: { 'user-activity/0': 7 } });
      expect(await store.upsertIfNewer({ ...found!, version: 5, snapshot: { ...found!.snapshot, state: { ...state, version: 5 } } })).toBe('written');
      const doc = (await raw.findOne({ _id: 'old' })) as unknown as { collections: string; seenIds: { buffer: Uint8Array } };
      expect(JSON.parse(doc.collections)).not.toHaveProperty('seen');
      expect(Buffer.from(doc.seenIds.buffer).equals(packLegacySeen(seen))).toBe(true);
      expect((await store.findMany(['old']))[0]!.snapshot.seen).toBe(found!.snapshot.seen);
    } finally {
      await store.close();
      await client.close();
    }
  });
});
