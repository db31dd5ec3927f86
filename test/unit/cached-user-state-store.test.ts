import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURE_PARAMS } from '../../src/features/params.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import { createCachedUserStateStore } from '../../src/stores/cached-user-state-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';

const snapshot = (version: number) => ({ state: { ...DEFAULT_USER_STATE, version, scoreSum: version }, seen: '', offsets: {} });

function setup() {
  const memory = createMemoryUserStateStore(DEFAULT_FEATURE_PARAMS);
  const reads: string[][] = [];
  const inner: UserStateStore = { ...memory, loadMany: (ids) => (reads.push([...ids]), memory.loadMany(ids)) };
  return { memory, reads, cache: createCachedUserStateStore(inner, { ttlMs: 60_000, max: 100 }) };
}

describe('L1 cache of user states', () => {
  it('reads only the users it does not hold, unknown users included', async () => {
    const { memory, reads, cache } = setup();
    await memory.restore('a', snapshot(1));
    expect((await cache.loadMany(['a', 'ghost'])).map((s) => s?.version)).toEqual([1, undefined]);
    expect((await cache.loadMany(['ghost', 'a', 'b'])).map((s) => s?.version)).toEqual([undefined, 1, undefined]);
    expect(reads).toEqual([['a', 'ghost'], ['b']]);
    expect(cache.stats).toEqual({ hits: 2, misses: 3 });
  });

  it('drops a user on an update and reads the new version next', async () => {
    const { memory, reads, cache } = setup();
    await memory.restore('a', snapshot(1));
    await cache.loadMany(['a']);
    await memory.restore('a', snapshot(2));
    cache.invalidate('a', 2);
    expect((await cache.loadMany(['a']))[0]?.version).toBe(2);
    expect((await cache.loadMany(['a']))[0]?.version).toBe(2);
    expect(reads).toEqual([['a'], ['a']]);
  });

  it('does not cache a read that raced an update and came back older', async () => {
    const { memory, reads, cache } = setup();
    await memory.restore('a', snapshot(1));
    cache.invalidate('a', 2); // the update is announced before Redis shows it to this reader
    expect((await cache.loadMany(['a']))[0]?.version).toBe(1);
    await memory.restore('a', snapshot(2));
    expect((await cache.loadMany(['a']))[0]?.version).toBe(2);
    expect(reads).toEqual([['a'], ['a']]);
  });
});
