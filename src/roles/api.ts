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
import type { UserStateStore } from '../stores/user-state.js';

export async function startApiRole(
  config: Config,
  stores: Stores,
  userStates: UserStateStore,
  lifecycle: Lifecycle,
  logger: Logger,
  metrics: Metrics,
): Promise<string> {
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
