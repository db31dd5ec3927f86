import type { ItemGraphDelta, Relation } from '../features/cooccurrence.js';
import type { ScoredItem } from '../features/recommend.js';

export type { ItemGraphDelta, Relation, ScoredItem };

/** One list to read: an item's neighbours in one relation. */
export interface NeighbourKey {
  readonly itemId: string;
  readonly relation: Relation;
}

export interface ItemGraphRead {
  /** Per key, in order: the item's neighbours, strongest first (ties by greater id), at most M. */
  readonly lists: ScoredItem[][];
  /** The most popular items, decayed to the time of the read, most popular first. */
  readonly trending: ScoredItem[];
}

/**
 * The item graph: each item's strongest neighbours per relation and the
 * trending list. Every item's list is its own key (its own cluster slot), so
 * a batch's delta is one small atomic step per item and relation, all sent in
 * one round trip; no step touches two items.
 */
export interface ItemGraphStore {
  /** Adds a batch's delta: each list gains its weights and keeps its M strongest; trending keeps its top items. */
  record(delta: ItemGraphDelta): Promise<void>;
  /** The lists of `keys` and the `trending` most popular items (none when 0), in one round trip. */
  read(keys: readonly NeighbourKey[], trending: number, now: number): Promise<ItemGraphRead>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What both stores keep the same: bounds and the trending decay. */
export interface ItemGraphParams {
  /** M: neighbours per item and relation. */
  readonly neighbours: number;
  readonly trendingSize: number;
  readonly trendingHalfLifeMs: number;
}

/**
 * Trending scores are kept scaled up to an epoch (as category affinities are,
 * see features/affinity.ts), so adding never rewrites other items. Past this
 * many half-lives from the epoch the stores rescale everything to a new one.
 */
export const TRENDING_REBASE_HALF_LIVES = 256;
