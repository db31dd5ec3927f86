/**
 * What a resolver receives as `parent` for each object type (codegen mappers).
 * A User is only its key: its fields load through the request's DataLoader,
 * so every User in one request shares one store round trip.
 */
import type { Recommended } from '../features/recommend.js';
import type { UserState } from '../features/state.js';

export interface UserParent {
  readonly id: string;
  /** A state already read (a subscription's event carries it): fields use it, not the loader. */
  readonly state?: UserState;
}

/** A user's features: the loaded state; each field computes its part at request time. */
export interface UserFeaturesParent {
  readonly userId: string;
  readonly state: UserState;
}

export interface ItemParent {
  readonly id: string;
}

/** A recommendation as features/recommend.ts ranks it, with items as references. */
export interface RecommendationParent {
  readonly item: ItemParent;
  readonly score: number;
  readonly reason: 'ALSO_VIEWED' | 'ALSO_BOUGHT' | 'TRENDING';
  readonly because: ItemParent | null;
}

export const recommendationParent = (r: Recommended): RecommendationParent => ({
  item: { id: r.itemId },
  score: r.score,
  reason: r.reason,
  because: r.because === null ? null : { id: r.because },
});
