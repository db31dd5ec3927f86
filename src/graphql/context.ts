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
   * With `atLeast`, a state older than that version (a copy served while
   * Redis failed, the user's update announced before its read could see it)
   * is read again for a while before it is returned, unless `ended` aborts.
   */
  load(userId: string, whole: boolean, atLeast?: number, ended?: AbortSignal): Promise<UserState>;
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

/** What every context of one factory shares. */
interface Shared {
  readonly deps: ContextDeps;
  readonly onUserBatch: (size: number) => void;
  readonly onItemBatch: (size: number) => void;
  readonly trending: number;
}

/**
 * One request's context. The loaders and the score memo are made on first
 * use, and the methods live on the prototype: a subscription's context lives
 * as long as its socket and mostly never reads through them (its events
 * carry the state), so it costs a few fields.
 */
class RequestContext implements GraphQLContext {
  // Plain fields, not #private: Apollo Server copies a context's own fields onto its prototype.
  private lazyUserState: UserStateLoader | undefined;
  private lazyItemGraph: ItemGraphLoader | undefined;
  private lazyScores: Map<string, Promise<ReturnType<typeof scoreOf>>> | undefined;
  private lazyLoaders: GraphQLContext['loaders'] | undefined;
  readonly live?: LiveDeps;

  constructor(
    private readonly shared: Shared,
    readonly viewer: Viewer,
    readonly now: number,
  ) {
    if (shared.deps.live) this.live = shared.deps.live;
  }

  get features(): FeatureParams {
    return this.shared.deps.features;
  }

  get recommendations(): RecommendationParams {
    return this.shared.deps.recommendations;
  }

  get loaders(): GraphQLContext['loaders'] {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below are the class's own
    const self = this;
    return (this.lazyLoaders ??= {
      get userState() {
        return self.users();
      },
      get itemGraph() {
        return self.items();
      },
    });
  }

  state(userId: string, whole: boolean): Promise<UserState> {
    return this.users().load({ userId, whole });
  }

  score(userId: string): Promise<ReturnType<typeof scoreOf>> {
    this.lazyScores ??= new Map();
    let score = this.lazyScores.get(userId);
    if (!score) {
      score = this.users()
        .load({ userId, whole: false })
        .then((state) => scoreOf(state, this.now, this.features));
      this.lazyScores.set(userId, score);
    }
    return score;
  }

  private users(): UserStateLoader {
    const { deps, onUserBatch } = this.shared;
    return (this.lazyUserState ??= createUserStateLoader(deps.userStates, deps.maxBatchSize, onUserBatch));
  }

  private items(): ItemGraphLoader {
    const { deps, onItemBatch, trending } = this.shared;
    const now = this.now;
    return (this.lazyItemGraph ??= createItemGraphLoader(deps.itemGraph, { maxBatchSize: deps.maxBatchSize, trendingCount: trending, clock: () => now, onBatch: onItemBatch }));
  }
}

/** Builds a fresh context (fresh loaders, fresh views) for one request of `viewer`. */
export function createContextFactory(deps: ContextDeps): (viewer: Viewer) => GraphQLContext {
  const clock = deps.clock ?? Date.now;
  const onBatch = deps.onBatch ?? (() => undefined);
  const shared: Shared = {
    deps,
    onUserBatch: (n) => onBatch('userState', n),
    onItemBatch: (n) => onBatch('itemGraph', n),
    trending: trendingCount(deps),
  };
  return (viewer) => new RequestContext(shared, viewer, clock());
}
