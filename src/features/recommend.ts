/**
 * A user's recommendations from their latest items and the item graph. Pure.
 *
 * The anchors are the user's K latest items. Anchor a, whose time is d older
 * than the latest one, weighs r = 2^(−d / recencyHalfLife); a candidate c
 * scores Σ over anchors of r · (viewed(a, c) + bought(a, c)). Items among the
 * user's recent items (what the service remembers they interacted with) are
 * never recommended. The reason names the single largest contribution: its
 * relation and its anchor. Best first; equal scores by item id.
 *
 * A user with no anchors, or whose anchors have no neighbours, gets the
 * trending items instead (decayed global popularity), minus their own items.
 */
import type { Relation } from './cooccurrence.js';
import type { RecommendationParams } from './params.js';
import { decayFactor } from './score.js';
import type { RecentItem } from './view.js';

export type RecommendationReason = 'ALSO_VIEWED' | 'ALSO_BOUGHT' | 'TRENDING';

export interface ScoredItem {
  readonly itemId: string;
  readonly score: number;
}

/** An item's strongest neighbours per relation, strongest first. */
export type Neighbours = Readonly<Record<Relation, readonly ScoredItem[]>>;

export interface Recommended {
  readonly itemId: string;
  readonly score: number;
  readonly reason: RecommendationReason;
  /** The anchor behind the largest contribution; null for trending items. */
  readonly because: string | null;
}

export interface RecommendInput {
  /** The user's recent items, latest first (features/view.ts `recentItemsOf`). */
  readonly recent: readonly RecentItem[];
  /** Neighbours of (at least) every anchor. */
  readonly neighbours: ReadonlyMap<string, Neighbours>;
  /** Trending items, most popular first, scored at the time of the read. */
  readonly trending: readonly ScoredItem[];
}

export const anchorsOf = (recent: readonly RecentItem[], p: RecommendationParams): RecentItem[] => recent.slice(0, p.anchors);

const REASONS: Record<Relation, RecommendationReason> = { bought: 'ALSO_BOUGHT', viewed: 'ALSO_VIEWED' };

export function recommend(input: RecommendInput, limit: number, p: RecommendationParams): Recommended[] {
  const interacted = new Set(input.recent.map((r) => r.itemId));
  const anchors = anchorsOf(input.recent, p);
  const latest = anchors[0]?.at ?? 0;
  const candidates = new Map<string, { score: number; best: number; reason: RecommendationReason; because: string }>();
  for (const anchor of anchors) {
    const recency = decayFactor(latest - anchor.at, p.recencyHalfLifeMs);
    const lists = input.neighbours.get(anchor.itemId);
    if (!lists) continue;
    for (const relation of ['bought', 'viewed'] as const) {
      for (const { itemId, score } of lists[relation]) {
        if (interacted.has(itemId)) continue;
        const contribution = recency * score;
        const c = candidates.get(itemId);
        if (!c) candidates.set(itemId, { score: contribution, best: contribution, reason: REASONS[relation], because: anchor.itemId });
        else {
          c.score += contribution;
          if (contribution > c.best) Object.assign(c, { best: contribution, reason: REASONS[relation], because: anchor.itemId });
        }
      }
    }
  }
  if (candidates.size === 0) {
    return input.trending
      .filter((t) => !interacted.has(t.itemId))
      .slice(0, limit)
      .map((t) => ({ itemId: t.itemId, score: t.score, reason: 'TRENDING', because: null }));
  }
  return [...candidates]
    .map(([itemId, c]) => ({ itemId, score: c.score, reason: c.reason, because: c.because }))
    .sort((a, b) => b.score - a.score || (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0))
    .slice(0, limit);
}
