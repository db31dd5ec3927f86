import { decayFactor } from '../features/score.js';
import { TRENDING_REBASE_HALF_LIVES, type ItemGraphParams, type ItemGraphStore, type ScoredItem } from './item-graph.js';

/** Strongest first; on equal weight the greater id first, as Redis ranks a sorted set in reverse. */
const strongestFirst = (a: ScoredItem, b: ScoredItem) => b.score - a.score || (a.itemId < b.itemId ? 1 : a.itemId > b.itemId ? -1 : 0);

/** Keeps the `max` strongest of a list. */
function keep(list: Map<string, number>, max: number): void {
  if (list.size <= max) return;
  const ranked = [...list].map(([itemId, score]) => ({ itemId, score })).sort(strongestFirst);
  for (const { itemId } of ranked.slice(max)) list.delete(itemId);
}

const ranked = (list: Map<string, number> | undefined, n: number, scale = 1): ScoredItem[] =>
  [...(list ?? [])].map(([itemId, score]) => ({ itemId, score })).sort(strongestFirst).slice(0, n).map((s) => ({ itemId: s.itemId, score: s.score * scale }));

/** In-process twin of the Redis item graph, for embedded dev mode and unit tests. */
export function createMemoryItemGraphStore(p: ItemGraphParams): ItemGraphStore {
  const lists = new Map<string, Map<string, number>>();
  const trending = new Map<string, number>();
  let epoch: number | undefined;
  return {
    async record(delta) {
      for (const [itemId, relations] of delta.edges) {
        for (const relation of ['viewed', 'bought'] as const) {
          if (relations[relation].size === 0) continue;
          const key = `${relation}:${itemId}`;
          const list = lists.get(key) ?? new Map<string, number>();
          for (const [neighbour, w] of relations[relation]) list.set(neighbour, (list.get(neighbour) ?? 0) + w);
          keep(list, p.neighbours);
          lists.set(key, list);
        }
      }
      if (delta.popularity.size === 0) return;
      epoch ??= delta.refTime;
      if ((delta.refTime - epoch) / p.trendingHalfLifeMs > TRENDING_REBASE_HALF_LIVES) {
        const rescale = decayFactor(delta.refTime - epoch, p.trendingHalfLifeMs);
        for (const [itemId, score] of trending) trending.set(itemId, score * rescale);
        epoch = delta.refTime;
      }
      const scale = decayFactor(epoch - delta.refTime, p.trendingHalfLifeMs);
      for (const [itemId, inc] of delta.popularity) trending.set(itemId, (trending.get(itemId) ?? 0) + inc * scale);
      keep(trending, p.trendingSize);
    },
    async read(keys, n, now) {
      return {
        lists: keys.map((k) => ranked(lists.get(`${k.relation}:${k.itemId}`), p.neighbours)),
        trending: n > 0 && epoch !== undefined ? ranked(trending, n, decayFactor(now - epoch, p.trendingHalfLifeMs)) : [],
      };
    },
    async ping() {},
    async close() {},
  };
}
