/** The per-request context every resolver receives. */
import type { Viewer } from '../api/auth.js';
import type { FeatureParams } from '../features/params.js';
import { viewOf, type UserView } from '../features/view.js';
import type { UserStateStore } from '../stores/user-state.js';
import { createUserStateLoader, type UserStateLoader } from './loaders/user-state-loader.js';

export interface GraphQLContext {
  /** Request time (epoch ms): every score in one response is decayed to the same instant. */
  readonly now: number;
  readonly viewer: Viewer;
  readonly features: FeatureParams;
  readonly loaders: { readonly userState: UserStateLoader };
  /** A user's read-time view, computed once per request. */
  view(userId: string): Promise<UserView>;
}

export interface ContextDeps {
  readonly userStates: UserStateStore;
  readonly features: FeatureParams;
  /** Keys per DataLoader batch, so per store round trip. */
  readonly maxBatchSize: number;
  readonly clock?: () => number;
  /** Observes the size of every DataLoader batch (for metrics). */
  readonly onBatch?: (loader: string, size: number) => void;
}

/** Builds a fresh context (fresh loaders, fresh views) for one request of `viewer`. */
export function createContextFactory(deps: ContextDeps): (viewer: Viewer) => GraphQLContext {
  const clock = deps.clock ?? Date.now;
  const onBatch = deps.onBatch ?? (() => undefined);
  return (viewer) => {
    const now = clock();
    const userState = createUserStateLoader(deps.userStates, deps.maxBatchSize, (n) => onBatch('userState', n));
    const views = new Map<string, Promise<UserView>>();
    return {
      now,
      viewer,
      features: deps.features,
      loaders: { userState },
      view(userId) {
        let view = views.get(userId);
        if (!view) {
          view = userState.load(userId).then((state) => viewOf(state, now, deps.features));
          views.set(userId, view);
        }
        return view;
      },
    };
  };
}
