/**
 * The contract every ItemGraphStore keeps, run against Redis (integration)
 * and the in-process twin (unit): weights add up, each list keeps its M
 * strongest whatever is thrown at it, and trending decays with time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EdgeWeights, ItemGraphDelta, Relation } from '../../src/features/cooccurrence.js';
import type { ItemGraphParams, ItemGraphStore, ScoredItem } from '../../src/stores/item-graph.js';

export const GRAPH_PARAMS: ItemGraphParams = { neighbours: 4, trendingSize: 3, trendingHalfLifeMs: 60_000 };
const T = Date.UTC(2026, 10, 21);

type Edges = Record<string, Partial<Record<Relation, Record<string, number>>>>;

/** A delta written out by hand: edges per item and relation, popularity scaled to `refTime`. */
export function delta(edges: Edges, popularity: Record<string, number> = {}, refTime = T): ItemGraphDelta {
  const out = new Map<string, EdgeWeights>();
  for (const [item, relations] of Object.entries(edges)) {
    out.set(item, { viewed: new Map(Object.entries(relations.viewed ?? {})), bought: new Map(Object.entries(relations.bought ?? {})) });
  }
  return { edges: out, popularity: new Map(Object.entries(popularity)), refTime };
}

/** Items in this order with these scores, to 9 decimals (the stores scale by powers of two). */
function expectScored(actual: readonly ScoredItem[], expected: readonly [string, number][]): void {
  expect(actual.map((s) => s.itemId)).toEqual(expected.map(([id]) => id));
  expected.forEach(([, score], i) => expect(actual[i]!.score).toBeCloseTo(score, 9));
}

export function itemGraphStoreContract(name: string, open: () => Promise<ItemGraphStore>): void {
  describe(`ItemGraphStore contract: ${name}`, () => {
    let store: ItemGraphStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('reads empty lists and no trending items at first', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      expect(await store.read([{ itemId: 'a', relation: 'viewed' }], 5, T)).toEqual({ lists: [[]], trending: [] });
      expect(await store.read([], 0, T)).toEqual({ lists: [], trending: [] });
    });

    it('adds weights up per relation, strongest first, equal weights by the greater id', async () => {
      await store.record(delta({ a: { viewed: { b: 1, c: 2 }, bought: { d: 10 } }, b: { viewed: { a: 1 } } }));
      await store.record(delta({ a: { viewed: { b: 2, e: 3 } } }));
      const { lists } = await store.read(
        [{ itemId: 'a', relation: 'viewed' }, { itemId: 'a', relation: 'bought' }, { itemId: 'b', relation: 'viewed' }, { itemId: 'b', relation: 'bought' }],
        0,
        T,
      );
      expect(lists).toEqual([
        [{ itemId: 'e', score: 3 }, { itemId: 'b', score: 3 }, { itemId: 'c', score: 2 }],
        [{ itemId: 'd', score: 10 }],
        [{ itemId: 'a', score: 1 }],
        [],
      ]);
    });

    it('keeps at most M neighbours per list, the strongest, however many arrive', async () => {
      const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`n${String(i).padStart(2, '0')}`, i + 1]));
      await store.record(delta({ hot: { viewed: many } }));
      // A later, heavier neighbour displaces the weakest kept one.
      await store.record(delta({ hot: { viewed: { fresh: 100, n00: 1 } } }));
      const { lists } = await store.read([{ itemId: 'hot', relation: 'viewed' }], 0, T);
      expect(lists[0]).toEqual([
        { itemId: 'fresh', score: 100 },
        { itemId: 'n39', score: 40 },
        { itemId: 'n38', score: 39 },
        { itemId: 'n37', score: 38 },
      ]);
    });

    it('decays trending popularity with time and keeps the most popular items only', async () => {
      await store.record(delta({}, { a: 8, b: 4, c: 2, d: 1 }, T));
      const now = await store.read([], 10, T + GRAPH_PARAMS.trendingHalfLifeMs);
      expect(now.trending.map((t) => t.itemId)).toEqual(['a', 'b', 'c']);
      expect(now.trending[0]!.score).toBeCloseTo(4, 9);
      expect(now.trending[2]!.score).toBeCloseTo(1, 9);
      expectScored((await store.read([], 2, T)).trending, [['a', 8], ['b', 4]]);
      // Popularity from later events counts for more: 1 now outweighs 1.5 from two half-lives ago.
      await store.record(delta({}, { d: 3 }, T + 2 * GRAPH_PARAMS.trendingHalfLifeMs));
      const later = await store.read([], 3, T + 2 * GRAPH_PARAMS.trendingHalfLifeMs);
      expectScored(later.trending, [['d', 3], ['a', 2], ['b', 1]]);
    });

    it('keeps trending exact across a rescale far from its epoch', async () => {
      const H = GRAPH_PARAMS.trendingHalfLifeMs;
      await store.record(delta({}, { old: 2 ** 300 }, T));
      await store.record(delta({}, { recent: 1 }, T + 300 * H));
      await store.record(delta({}, { recent: 1 }, T + 301 * H));
      const { trending } = await store.read([], 3, T + 301 * H);
      expectScored(trending, [['recent', 1.5], ['old', 0.5]]);
    });
  });
}
