/**
 * What subscriptions read when they push (the `LiveDeps` that
 * graphql/context.ts asks for): a user's state and the item graph, batched
 * across every subscription woken in one tick and never cached, since each
 * push must show the newest; and the counters of what was pushed.
 *
 * A read that fails on a passing fault (a Redis master failing over, a
 * reconnect) is tried again with backoff for about half a minute: a
 * subscription that gave up there would end, and its client would miss every
 * later change of its user. So is a read that answers with a state older than
 * the version its update announced: the read path serves MongoDB's copy while
 * Redis fails (and for a moment after, while its breaker is open), and a
 * subscription that took that copy for the update would skip the newest state
 * until the user changes again. Past that bound the push fails, or the older
 * state is taken, as before.
 */
import { ExponentialBackoff, handleWhen, handleWhenResult, retry } from 'cockatiel';
import DataLoader from 'dataloader';
import { isRetriable } from '../errors.js';
import { DEFAULT_USER_STATE, type UserState } from '../features/state.js';
import type { FeatureParams, RecommendationParams } from '../features/params.js';
import { trendingCount, type LiveDeps } from '../graphql/context.js';
import { createItemGraphLoader } from '../graphql/loaders/item-graph-loader.js';
import type { UpdateHub } from '../graphql/subscriptions/hub.js';
import type { Metrics } from '../observability/metrics.js';
import type { ItemGraphStore } from '../stores/item-graph.js';
import type { UserStateStore } from '../stores/user-state.js';

export interface SubscriptionReadsOptions {
  readonly store: UserStateStore;
  readonly itemGraph: ItemGraphStore;
  readonly hub: UpdateHub;
  readonly features: FeatureParams;
  readonly recommendations: RecommendationParams;
  /** Keys per store round trip (the API's entity batch size). */
  readonly maxBatchSize: number;
  readonly metrics: Metrics;
}

type Key = { readonly userId: string; readonly whole: boolean };

/** 50 ms doubling to 1 s: 30 tries span ~25 s, longer than a Redis Cluster failover takes. */
const READ_ATTEMPTS = 30;
const readBackoff = () => new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 });

export function createSubscriptionReads(o: SubscriptionReadsOptions): LiveDeps {
  const readRetry = retry(handleWhen(isRetriable), { maxAttempts: READ_ATTEMPTS - 1, backoff: readBackoff() });
  // Every subscriber of a user wakes on the same update: one read per user in a batch, the
  // collections only for users some subscription selects them of.
  const loader = new DataLoader<Key, UserState>(
    async (keys) => {
      const userIds = [...new Set(keys.map((k) => k.userId))];
      const whole = new Set(keys.filter((k) => k.whole).map((k) => k.userId));
      const scalarsOnly = new Set(userIds.filter((id) => !whole.has(id)));
      const options = scalarsOnly.size > 0 ? { scalarsOnly } : undefined;
      const states = await readRetry.execute(() => o.store.loadMany(userIds, options));
      const byId = new Map(userIds.map((id, i) => [id, states[i] ?? DEFAULT_USER_STATE]));
      return keys.map((k) => byId.get(k.userId)!);
    },
    { cache: false, maxBatchSize: o.maxBatchSize },
  );
  o.hub.on('superseded', () => o.metrics.live.superseded.inc());
  return {
    hub: o.hub,
    load(userId, whole, atLeast, ended) {
      if (atLeast === undefined) return loader.load({ userId, whole });
      const behind = handleWhenResult((state) => (state as UserState).version < atLeast);
      return retry(behind, { maxAttempts: READ_ATTEMPTS - 1, backoff: readBackoff() }).execute(() => loader.load({ userId, whole }), ended);
    },
    itemGraph: createItemGraphLoader({ read: (keys, trending, now) => readRetry.execute(() => o.itemGraph.read(keys, trending, now)) }, { maxBatchSize: o.maxBatchSize, trendingCount: trendingCount(o), clock: Date.now, cache: false }),
    pushed(field, eventTime) {
      o.metrics.live.pushes.inc({ field });
      if (eventTime > 0) o.metrics.live.pushLatency.observe(Math.max(0, Date.now() - eventTime) / 1000);
    },
    opened: (delta) => o.metrics.live.subscriptions.inc(delta),
  };
}
