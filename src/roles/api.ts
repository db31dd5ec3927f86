/** The api role: the subgraph over HTTP. */
import { createAuthenticator } from '../api/auth.js';
import { startApiServer } from '../api/server.js';
import type { Config } from '../config.js';
import { createContextFactory } from '../graphql/context.js';
import { createSubgraphSchema } from '../graphql/schema.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stores } from '../stores/index.js';
import { createCachedUserStateStore } from '../stores/cached-user-state-store.js';
import { createFeatureUpdatesListener } from '../ingest/feature-updates.js';
import { createKafka } from '../ingest/kafka.js';
import { instrumentUserStateStore } from '../observability/instrument-store.js';
import type { UserStateStore } from '../stores/user-state.js';

/**
 * The store the API reads through: timed, and behind the L1 cache when one is
 * configured, which feature updates from Kafka invalidate.
 */
async function readPath(config: Config, stores: Stores, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<UserStateStore> {
  const timed = instrumentUserStateStore(stores.userStates, metrics.storeDuration, config.adapters === 'memory' ? 'memory' : 'redis');
  if (config.api.l1CacheTtlMs === 0) return timed;
  const cached = createCachedUserStateStore(timed, { ttlMs: config.api.l1CacheTtlMs, max: config.api.l1CacheMax });
  if (config.adapters === 'servers') {
    const listener = createFeatureUpdatesListener({
      kafka: createKafka(config.kafka, logger),
      topic: config.kafka.topics.featureUpdates,
      instanceId: config.instanceId,
      logger,
    });
    listener.on('update', (u) => cached.invalidate(u.userId, u.version));
    await listener.start();
    lifecycle.onStop('feature updates', () => listener.stop());
  }
  return cached;
}

export async function startApiRole(config: Config, stores: Stores, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<string> {
  const userStates = await readPath(config, stores, lifecycle, logger, metrics);
  const authenticator = createAuthenticator(config.auth);
  if (!authenticator.enabled) logger.warn('no JWT key configured: authentication is off and every caller reads every user');
  const api = await startApiServer({
    host: config.http.host,
    port: config.http.port,
    schema: createSubgraphSchema({ maxRepresentations: config.api.maxEntityRepresentations }),
    context: createContextFactory({
      userStates,
      features: config.features,
      maxBatchSize: config.api.entityBatchSize,
      onBatch: (loader, size) => metrics.loaderBatchSize.observe({ loader }, size),
    }),
    authenticator,
    routerSecret: config.auth.routerSecret,
    limits: config.api,
    dependencies: stores.checks,
    lifecycle,
    metrics,
    logger,
  });
  lifecycle.onStop('api', () => api.stop());
  logger.info({ url: api.url, adapters: config.adapters }, 'GraphQL ready');
  return api.url;
}
