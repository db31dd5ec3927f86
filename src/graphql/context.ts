/** The per-request context every resolver receives. */
import type { Viewer } from '../access/viewer.js';
import type { FeatureParams, RecommendationParams } from '../features/params.js';
import type { UserState } from '../features/state.js';
import { scoreOf } from '../features/view.js';
import type { ItemGraphStore } from '../stores/item-graph.js';
import type { UserStateStore } from '../stores/user-state.js';
import { createItemGraphLoader, type ItemGraphLoader } from './loaders/item-graph-loader.js';
import { createUserStateLoader, type UserStateLoader } from './loaders/user-state-loader.js';
import type { UpdateHub } from './subscriptions/hub.js';

/** What subscriptions need: the hub of updates, fresh reads, and somewhere to count pushes. */
export interface LiveDeps {
  readonly hub: UpdateHub;
  /**
   * The user's state now (never a cached read: each push must show the newest);
   * `whole` includes buckets, recent items and categories, else only the scalars.
   */
  load(userId: string, whole: boolean): Promise<UserState>;
  /** The item graph, never cached either; batched across the subscriptions of one tick. */
  readonly itemGraph: ItemGraphLoader;
  /** Called on every message pushed, with the time of the event behind it. */
  pushed(field: string, eventTime: number): void;
  /** Called with +1 when a subscription opens and -1 when it ends. */
  opened(delta: 1 | -1): void;
}

export interface GraphQLContext {
  /** Request time (epoch ms): every score in one response is decayed to the same instant. */
  readonly now: number;
  readonly viewer: Viewer;
  readonly features: FeatureParams;
  readonly recommendations: RecommendationParams;
  readonly loaders: { readonly userState: UserStateLoader; readonly itemGraph: ItemGraphLoader };
  /** Present where subscriptions are served. */
  readonly live?: LiveDeps;
  /** A user's state through the request's DataLoader: `whole` includes buckets, recent items and categories. */
  state(userId: string, whole: boolean): Promise<UserState>;
  /** A user's score and tier at `now`, computed once per request. */
  score(userId: string): Promise<ReturnType<typeof scoreOf>>;
}

export interface ContextDeps {
  readonly userStates: UserStateStore;
  readonly itemGraph: ItemGraphStore;
  readonly features: FeatureParams;
  readonly recommendations: RecommendationParams;
  /** Keys per DataLoader batch, so per store round trip. */
  readonly maxBatchSize: number;
  readonly clock?: () => number;
  /** Observes the size of every DataLoader batch (for metrics). */
  readonly onBatch?: (loader: string, size: number) => void;
  readonly live?: LiveDeps;
}

/** Trending items to read: enough for the largest list once a user's own recent items are dropped. */
export const trendingCount = (p: { features: FeatureParams; recommendations: RecommendationParams }): number =>
  p.recommendations.maxLimit + p.features.recentItems;

/**
 * Builds a fresh context (fresh loaders, fresh views) for one request of
 * `viewer`. The loaders and the score memo are made on first use: a
 * subscription's context lives as long as its socket and mostly never reads
 * through them (its events carry the state), so it costs a few fields.
 */
export function createContextFactory(deps: ContextDeps): (viewer: Viewer) => GraphQLContext {
  const clock = deps.clock ?? Date.now;
  const onBatch = deps.onBatch ?? (() => undefined);
  const onUserBatch = (n: number) => onBatch('userState', n);
  const onItemBatch = (n: number) => onBatch('itemGraph', n);
  const trending = trendingCount(deps);
  return (viewer) => {
    const now = clock();
    let userState: UserStateLoader | undefined;
    let itemGraph: ItemGraphLoader | undefined;
    let scores: Map<string, Promise<ReturnType<typeof scoreOf>>> | undefined;
    const users = () => (userState ??= createUserStateLoader(deps.userStates, deps.maxBatchSize, onUserBatch));
    const loaders = {
      get userState() {
        return users();
      },
      get itemGraph() {
        return (itemGraph ??= createItemGraphLoader(deps.itemGraph, { maxBatchSize: deps.maxBatchSize, trendingCount: trending, clock: () => now, onBatch: onItemBatch }));
      },
    };
    return {
      now,
      viewer,
      features: deps.features,
      recommendations: deps.recommendations,
      loaders,
      ...(deps.live ? { live: deps.live } : {}),
      state: (userId, whole) => users().load({ userId, whole }),
      score(userId) {
        scores ??= new Map();
        let score = scores.get(userId);
        if (!score) {
          score = users()
            .load({ userId, whole: false })
            .then((state) => scoreOf(state, now, deps.features));
          scores.set(userId, score);
        }
        return score;
      },
    };
  };
}
