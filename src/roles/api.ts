/**
 * The api role: the subgraph over HTTP and graphql-ws. Every instance hears
 * every feature update (its own consumer group) and uses it twice: to push to
 * its own subscribers, and to drop stale entries of the L1 cache, if any. It
 * hears item graph updates too, and wakes the recommendations subscriptions
 * watching the changed items (trending ones at most every interval).
 *
 * The HTTP server starts first, so /health/live answers at once and
 * /health/ready says what is missing while the consumer waits for Kafka.
 */
import DataLoader from 'dataloader';
import type { Kafka } from 'kafkajs';
import { createAuthenticator, type Authenticator } from '../access/credentials.js';
import { startApiServer } from '../api/server.js';
import type { Config } from '../config.js';
import { demoPage } from '../demo/page.js';
import { DEFAULT_USER_STATE, type UserState } from '../features/state.js';
import { createContextFactory, trendingCount, type LiveDeps } from '../graphql/context.js';
import { createGraphQLPolicy } from '../graphql/policy.js';
import { createSubgraphSchema } from '../graphql/schema.js';
import { createItemGraphLoader } from '../graphql/loaders/item-graph-loader.js';
import { TRENDING, UpdateHub } from '../graphql/subscriptions/hub.js';
import { createFeatureUpdatesListener, type FeatureUpdatesListener } from '../ingest/feature-updates.js';
import type { Lifecycle } from '../lifecycle.js';
import { instrumentUserStateStore } from '../observability/instrument-store.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createCachedUserStateStore } from '../stores/cached-user-state-store.js';
import type { Stores } from '../stores/index.js';
import { createReadThroughStore } from '../stores/read-through-store.js';
import type { ItemGraphStore } from '../stores/item-graph.js';
import type { UserStateStore } from '../stores/user-state.js';

/** Subscriptions' reads: batched across all subscriptions of a tick, never cached. */
function liveDeps(store: UserStateStore, itemGraph: ItemGraphStore, config: Config, hub: UpdateHub, metrics: Metrics): LiveDeps {
  const loader = new DataLoader<string, UserState>(
    async (ids) => (await store.loadMany(ids)).map((s) => s ?? DEFAULT_USER_STATE),
    { cache: false, maxBatchSize: 500 },
  );
  hub.on('superseded', () => metrics.live.superseded.inc());
  return {
    hub,
    load: (userId) => loader.load(userId),
    itemGraph: createItemGraphLoader(itemGraph, { maxBatchSize: 2000, trendingCount: trendingCount(config), clock: Date.now, cache: false }),
    pushed(field, eventTime) {
      metrics.live.pushes.inc({ field });
      if (eventTime > 0) metrics.live.pushLatency.observe(Math.max(0, Date.now() - eventTime) / 1000);
    },
    opened: (delta) => metrics.live.subscriptions.inc(delta),
  };
}

/** Calls `fn` at most once per `intervalMs`, with the latest argument; the first call waits out no interval. */
function throttle<T>(intervalMs: number, fn: (arg: T) => void): { call(arg: T): void; cancel(): void } {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  let latest: T;
  const fire = () => {
    timer = undefined;
    last = Date.now();
    fn(latest);
  };
  return {
    call(arg) {
      latest = arg;
      if (timer) return;
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait).unref();
    },
    cancel: () => clearTimeout(timer),
  };
}

/**
 * Subscribes `listener`, retrying until it succeeds (Kafka or its topics may
 * not be ready yet), and starts it again with backoff whenever kafkajs gives
 * up on it at run time.
 */
async function keepSubscribed(listener: FeatureUpdatesListener, lifecycle: Lifecycle, logger: Logger): Promise<void> {
  const name = 'kafka: feature updates';
  listener.on('crash', (error) => {
    logger.error({ err: error }, 'the feature updates consumer crashed; starting it again');
    // Queries do not need it, only pushes do: readiness stays as it is meanwhile. The helper logs any giving up.
    void lifecycle.retryUntilStopped(name, () => listener.start(), { firstDelayMs: 1000, reportNotReady: false }).catch(() => undefined);
  });
  await lifecycle.retryUntilStopped(name, () => listener.start());
}

/** Says, in one line, when access is open: development without keys, or an opted-out router check. */
function logAccess(authenticator: Authenticator, env: Config['env'], logger: Logger): void {
  const open = [
    ...(authenticator.enabled ? [] : ['no JWT key, so every caller is internal and reads every user']),
    ...(authenticator.routerCheck ? [] : [env === 'production' ? 'ROUTER_SECRET=none, so the router check is off' : 'no router secret, so anyone may call']),
  ];
  if (open.length > 0) logger.warn(`${env} mode, access is open: ${open.join('; ')}`);
}

export async function startApiRole(config: Config, kafka: Kafka, stores: Stores, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<string> {
  // Misses fall through to MongoDB, are written back to Redis, and served.
  const readThrough = createReadThroughStore(stores.userStates, stores.profiles, (n) => metrics.sync.readThrough.inc(n), {
    onDegraded: (n, reason) => metrics.degraded.readFallback.inc({ reason }, n),
  });
  const timed = instrumentUserStateStore(readThrough, metrics.storeDuration, config.adapters === 'memory' ? 'memory' : 'redis');
  const cached = config.api.l1CacheTtlMs > 0 ? createCachedUserStateStore(timed, { ttlMs: config.api.l1CacheTtlMs, max: config.api.l1CacheMax }) : undefined;
  const hub = new UpdateHub();

  const listener = createFeatureUpdatesListener({
    kafka,
    topic: config.kafka.topics.featureUpdates,
    itemTopic: config.recommendations.enabled ? config.kafka.topics.itemUpdates : undefined,
    instanceId: config.instanceId,
    logger,
  });
  listener.on('update', (u) => {
    cached?.invalidate(u.userId, u.version);
    hub.publish(u.userId, { version: u.version, eventTime: u.eventTime });
  });
  const trending = throttle(config.recommendations.trendingPushIntervalMs, (eventTime: number) => hub.publishItems([TRENDING], eventTime));
  listener.on('items', (u) => {
    hub.publishItems(u.items, u.eventTime);
    if (u.trending) trending.call(u.eventTime);
  });
  // Registered before the server's step, so sockets close before the consumer stops.
  lifecycle.onStop('feature updates', async () => {
    trending.cancel();
    await listener.stop();
  });

  const authenticator = createAuthenticator(config.auth);
  logAccess(authenticator, config.env, logger);
  const log = logger.child({ component: 'api' });
  const policy = createGraphQLPolicy({
    schema: createSubgraphSchema({ maxRepresentations: config.api.maxEntityRepresentations }),
    limits: config.api,
    authenticator,
    context: createContextFactory({
      userStates: cached ?? timed,
      itemGraph: stores.itemGraph,
      features: config.features,
      recommendations: config.recommendations,
      maxBatchSize: config.api.entityBatchSize,
      onBatch: (loader, size) => metrics.loaderBatchSize.observe({ loader }, size),
      live: liveDeps(timed, stores.itemGraph, config, hub, metrics),
    }),
    onUnexpected: (error) => log.error({ err: error }, 'unexpected error in a GraphQL operation'),
  });
  const api = await startApiServer({
    host: config.http.host,
    port: config.http.port,
    policy,
    subscriptions: config.api.subscriptions,
    dependencies: stores.checks,
    ...(config.demo.page && { pages: demoPage({ collectorPort: config.collector.port }) }),
    lifecycle,
    metrics,
    logger,
  });
  lifecycle.onStop('api', () => api.stop());
  await keepSubscribed(listener, lifecycle, logger);
  logger.info({ url: api.url, adapters: config.adapters }, 'GraphQL ready');
  return api.url;
}
