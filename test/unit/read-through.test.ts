/** The API's read path when Redis misses, fails, stalls or was lost, over the in-process twins. */
import { describe, expect, it } from 'vitest';
import { DependencyError } from '../../src/errors.js';
import { DEFAULT_FEATURE_PARAMS } from '../../src/features/params.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import { createMemoryProfileStore } from '../../src/stores/memory-profile-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import type { ProfileStore } from '../../src/stores/profile.js';
import { createReadThroughStore, type ReadThroughOptions } from '../../src/stores/read-through-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';

const snapshot = (version: number) => ({ state: { ...DEFAULT_USER_STATE, version, scoreSum: version }, seen: '', offsets: {} });

async function setup(o: ReadThroughOptions = {}) {
  const redis = createMemoryUserStateStore(DEFAULT_FEATURE_PARAMS);
  await redis.markOnline('g1');
  const real = createMemoryProfileStore();
  const queried: string[] = [];
  const profiles: ProfileStore = { ...real, findMany: async (ids) => (queried.push(...ids), real.findMany(ids)) };
  for (let i = 0; i < 100; i++) await real.upsertIfNewer({ userId: `u${i}`, version: 3, snapshot: snapshot(3), updatedAt: 1 });
  const degraded: string[] = [];
  const store = createReadThroughStore(redis, profiles, undefined, { generationTtlMs: 0, onDegraded: (n, why) => degraded.push(`${why}:${n}`), ...o });
  return { redis, real, profiles, queried, degraded, store };
}

const users = Array.from({ length: 100 }, (_, i) => `u${i}`);

describe('read-through', () => {
  // First in the file: Node warns once per signal, so a later test would find it already warned.
  it('keeps a thousand reads in flight without Node warning of a listener leak', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const { store } = await setup();
      await Promise.all(Array.from({ length: 1000 }, (_, r) => store.loadMany([users[r % 100]!])));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('reads each missing user from MongoDB once for 1,000 concurrent requests, and writes it back', async () => {
    const { redis, queried, store } = await setup();
    const results = await Promise.all(Array.from({ length: 1000 }, (_, r) => store.loadMany([users[r % 100]!, users[(r * 7) % 100]!])));
    expect(results.every((states) => states.every((s) => s?.version === 3))).toBe(true);
    expect(queried.sort()).toEqual([...users].sort());
    expect((await redis.loadMany(users)).every((s) => s?.version === 3)).toBe(true);
  });

  it('remembers users found nowhere for a while, so they cost MongoDB one query, then asks again', async () => {
    let now = 1_000_000;
    const { queried, store } = await setup({ unknownTtlMs: 1000, clock: () => now });
    for (let i = 0; i < 50; i++) expect(await store.loadMany(['ghost'])).toEqual([undefined]);
    expect(queried).toEqual(['ghost']);
    now += 1001;
    await store.loadMany(['ghost']);
    expect(queried).toEqual(['ghost', 'ghost']);
  });

  it('serves MongoDB’s copy, marked stale, when Redis fails or stalls past its deadline', async () => {
    const { redis, profiles, store } = await setup();
    await redis.restore('u1', snapshot(9));
    const failing: UserStateStore = { ...redis, loadMany: async () => Promise.reject(new Error('Connection is closed.')) };
    const stalled: UserStateStore = { ...redis, loadMany: () => new Promise(() => undefined) };
    const onFailing = createReadThroughStore(failing, profiles, undefined, { generationTtlMs: 0 });
    expect(await onFailing.loadMany(['u1'])).toEqual([{ ...snapshot(3).state, fromDurableCopy: true }]);
    const onStalled = createReadThroughStore(stalled, profiles, undefined, { generationTtlMs: 0, redisDeadlineMs: 50 });
    const started = Date.now();
    expect(await onStalled.loadMany(['u1', 'nobody'])).toEqual([{ ...snapshot(3).state, fromDurableCopy: true }, undefined]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await store.loadMany(['u1']))[0]).toMatchObject({ version: 9 }); // a healthy Redis still wins
  });

  it('reads everyone from MongoDB while Redis has no generation, and writes nothing back', async () => {
    const { redis, profiles } = await setup();
    await redis.applyProfile({ userId: 'u5', profileVersion: 1, vip: true, status: null }, 0); // a partial state
    const lost: UserStateStore = { ...redis, generation: async () => undefined };
    const degraded: string[] = [];
    const recovering = createReadThroughStore(lost, profiles, undefined, { generationTtlMs: 0, onDegraded: (n, why) => degraded.push(`${why}:${n}`) });
    expect(await recovering.loadMany(['u5', 'u6'])).toEqual([{ ...snapshot(3).state, fromDurableCopy: true }, { ...snapshot(3).state, fromDurableCopy: true }]);
    expect(degraded).toEqual(['recovering:2']);
    expect(await redis.loadMany(['u6'])).toEqual([undefined]);
  });

  it('fails with a DependencyError when MongoDB fails too', async () => {
    const { redis, real } = await setup();
    const failing: UserStateStore = { ...redis, loadMany: async () => Promise.reject(new Error('ECONNREFUSED')) };
    const down: ProfileStore = { ...real, findMany: async () => Promise.reject(new Error('server selection timed out')) };
    await expect(createReadThroughStore(failing, down, undefined, { generationTtlMs: 0 }).loadMany(['u1'])).rejects.toBeInstanceOf(DependencyError);
  });

  it('serves a user read from MongoDB even when the write-back to Redis fails, and says so', async () => {
    const { redis, profiles } = await setup();
    const refusing: UserStateStore = { ...redis, restore: () => Promise.reject(new Error('OOM command not allowed')) };
    const failed: string[] = [];
    const store = createReadThroughStore(refusing, profiles, undefined, { generationTtlMs: 0, onWriteBackFailed: (userId) => failed.push(userId) });
    expect(await store.loadMany(['u1', 'u2'])).toEqual([snapshot(3).state, snapshot(3).state]);
    expect(failed.sort()).toEqual(['u1', 'u2']);
  });
});
