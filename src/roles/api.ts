/** The api role: the subgraph over HTTP. */
import { startApiServer } from '../api/server.js';
import type { Config } from '../config.js';
import { createContextFactory } from '../graphql/context.js';
import { createSubgraphSchema } from '../graphql/schema.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stores } from '../stores/index.js';

const MAX_ENTITY_BATCH = 500;

export async function startApiRole(config: Config, stores: Stores, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<string> {
  const api = await startApiServer({
    host: config.http.host,
    port: config.http.port,
    schema: createSubgraphSchema(),
    context: createContextFactory({
      userStates: stores.userStates,
      features: config.features,
      maxBatchSize: MAX_ENTITY_BATCH,
      onBatch: (loader, size) => metrics.loaderBatchSize.observe({ loader }, size),
    }),
    dependencies: stores.checks,
    lifecycle,
    metrics,
    logger,
    introspection: config.env !== 'production',
  });
  lifecycle.onStop('api', () => api.stop());
  logger.info({ url: api.url, adapters: config.adapters }, 'GraphQL ready');
  return api.url;
}
