/**
 * One DataLoader per request over the item graph: every neighbour list the
 * request needs (its items' alsoViewed / alsoBought, its users' anchors) and
 * the trending list come from one `read`, one Redis round trip, per batch.
 * Subscriptions use an uncached one, so each push reads the newest lists.
 */
import DataLoader from 'dataloader';
import type { FeatureParams, RecommendationParams } from '../../features/params.js';
import { anchorsOf, recommend, type Neighbours, type Recommended, type ScoredItem } from '../../features/recommend.js';
import type { UserState } from '../../features/state.js';
import { recentItemsOf } from '../../features/view.js';
import type { ItemGraphStore, NeighbourKey, Relation } from '../../stores/item-graph.js';

/** A neighbour list, or the trending list. */
export type ItemGraphKey = NeighbourKey | 'trending';
export type ItemGraphLoader = DataLoader<ItemGraphKey, ScoredItem[], string>;

export interface ItemGraphLoaderOptions {
  readonly maxBatchSize: number;
  /** Trending items to read: enough to fill the largest list after dropping a user's own items. */
  readonly trendingCount: number;
  /** Time of the read, to which trending popularity is decayed. */
  readonly clock: () => number;
  /** false for subscriptions: every load reads anew. */
  readonly cache?: boolean;
  readonly onBatch?: (size: number) => void;
}

const keyOf = (k: ItemGraphKey) => (k === 'trending' ? 'trending' : `${k.relation}:${k.itemId}`);

export function createItemGraphLoader(store: Pick<ItemGraphStore, 'read'>, o: ItemGraphLoaderOptions): ItemGraphLoader {
  return new DataLoader<ItemGraphKey, ScoredItem[], string>(
    async (keys) => {
      o.onBatch?.(keys.length);
      const lists = keys.filter((k): k is NeighbourKey => k !== 'trending');
      const { lists: read, trending } = await store.read(lists, keys.includes('trending') ? o.trendingCount : 0, o.clock());
      const byKey = new Map(lists.map((k, i) => [keyOf(k), read[i]!]));
      return keys.map((k) => (k === 'trending' ? trending : byKey.get(keyOf(k))!));
    },
    { maxBatchSize: o.maxBatchSize, cacheKeyFn: keyOf, cache: o.cache ?? true },
  );
}

/** The user's recommendations: their anchors' lists and trending, loaded together, ranked (features/recommend.ts). */
export async function recommendationsOf(
  loader: ItemGraphLoader,
  state: UserState,
  limit: number,
  p: { readonly features: FeatureParams; readonly recommendations: RecommendationParams },
): Promise<Recommended[]> {
  const recent = recentItemsOf(state, p.features);
  const anchors = anchorsOf(recent, p.recommendations).map((a) => a.itemId);
  const relations: Relation[] = ['viewed', 'bought'];
  const [trending, ...lists] = await Promise.all([
    loader.load('trending'),
    ...anchors.flatMap((itemId) => relations.map((relation) => loader.load({ itemId, relation }))),
  ]);
  const neighbours = new Map<string, Neighbours>(anchors.map((itemId, i) => [itemId, { viewed: lists[2 * i]!, bought: lists[2 * i + 1]! }]));
  return recommend({ recent, neighbours, trending }, limit, p.recommendations);
}
