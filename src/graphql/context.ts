/** The per-request context every resolver receives. */
import type { FeatureParams } from '../features/view.js';
import type { UserStateStore } from '../stores/user-state.js';
import { createUserStateLoader, type UserStateLoader } from './loaders/user-state-loader.js';

export interface GraphQLContext {
  /** Request time (epoch ms): every score in one response is decayed to the same instant. */
  readonly now: number;
  readonly features: FeatureParams;
  readonly loaders: { readonly userState: UserStateLoader };
}

export interface ContextDeps {
  readonly userStates: UserStateStore;
  readonly features: FeatureParams;
  readonly maxBatchSize: number;
  readonly clock?: () => number;
  /** Observes the size of every DataLoader batch (for metrics). */
  readonly onBatch?: (loader: string, size: number) => void;
}

/** Builds a fresh context (and fresh loaders) for one request. */
export function createContextFactory(deps: ContextDeps): () => Promise<GraphQLContext> {
  const clock = deps.clock ?? Date.now;
  const onBatch = deps.onBatch ?? (() => {});
  return async () => ({
    now: clock(),
    features: deps.features,
    loaders: {
      userState: createUserStateLoader(deps.userStates, deps.maxBatchSize, (n) => onBatch('userState', n)),
    },
  });
}
