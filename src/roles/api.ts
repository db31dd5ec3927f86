/**
 * src/roles: one file per role, wiring only: what starts, in order, and how
 * it stops (each step registered with the lifecycle). It may import every
 * folder but dev/; main.ts chooses the roles.
 *
 * The api role: the subgraph over HTTP and graphql-ws. Every instance hears
 * every feature update (its own consumer group) and uses it twice: to push to
 * its own subscribers, and to drop stale entries of the L1 cache, if any. It
 * hears item graph updates too, and wakes the recommendations subscriptions
 * watching the changed items (trending ones at most every interval).
 *
 * The HTTP server starts first, so /health/live answers at once and
 * /health/ready says what is missing while the consumer waits for Kafka.
 */
import type { Kafka } from 'kafkajs';
import { createAuthenticator, openAccess } from '../access/credentials.js';
import { startApiServer } from '../api/server.js';
import type { Config } from '../config.js';
import { demoPage } from '../demo/page.js';
import { createContextFactory } from '../graphql/context.js';
import { createGraphQLPolicy } from '../graphql/policy.js';
import { createSubgraphSchema } from '../graphql/schema.js';
import { UpdateHub } from '../graphql/subscriptions/hub.js';
import type { Lifecycle } from '../lifecycle.js';
import { createLiveUpdates } from '../live/live-updates.js';
import { createSubscriptionReads } from '../live/subscription-reads.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createCachedUserStateStore } from '../stores/cached-user-state-store.js';
import type { Stores } from '../stores/index.js';
import { instrumentUserStateStore } from '../stores/instrumented-user-state-store.js';
import { createReadThroughStore } from '../stores/read-through-store.js';

export async function startApiRole(config: Config, kafka: Kafka, stores: Stores, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<string> {
  // Misses fall through to MongoDB, are written back to Redis, and served.
  const readThrough = createReadThroughStore(stores.userStates, stores.profiles, (n) => metrics.sync.readThrough.inc(n), {
    idleTtlMs: config.redis.idleTtlMs,
    onDegraded: (n, reason) => metrics.degraded.readFallback.inc({ reason }, n),
    onWriteBackFailed: (userId, err) => logger.warn({ err, userId }, 'a user read from MongoDB was not written back to Redis; the next read tries again'),
  });
  const timed = instrumentUserStateStore(readThrough, metrics.storeDuration, config.adapters === 'memory' ? 'memory' : 'redis');
  const cached = config.api.l1CacheTtlMs > 0 ? createCachedUserStateStore(timed, { ttlMs: config.api.l1CacheTtlMs, max: config.api.l1CacheMax }) : undefined;
  const hub = new UpdateHub();

  // Before the server's step, so sockets close before the consumer stops.
  const live = createLiveUpdates({ kafka, config, hub, cache: cached, lifecycle, logger });

  const authenticator = createAuthenticator(config.auth);
  const open = openAccess(authenticator, config.env);
  if (open) logger.warn(open);
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
      live: createSubscriptionReads({ ...config, store: timed, itemGraph: stores.itemGraph, hub, maxBatchSize: config.api.entityBatchSize, metrics }),
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
  await live.subscribe();
  logger.info({ url: api.url, adapters: config.adapters }, 'GraphQL ready');
  return api.url;
}
