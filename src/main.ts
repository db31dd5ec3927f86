/**
 * Entry point. One codebase, roles chosen at start:
 *
 *   --role api|processor|sync|all   (or ROLES=api,processor)
 *   --services local                start the local servers (scripts/services.sh) and use them
 *
 * Without server URLs in the environment the process runs embedded, on
 * in-process adapters, for `npm run dev` on a machine with nothing installed.
 */
import { parseArgs } from 'node:util';
import { startApiServer } from './api/server.js';
import { loadConfig, type Env } from './config.js';
import { startLocalServices } from './dev/local-services.js';
import { createContextFactory } from './graphql/context.js';
import { createSubgraphSchema } from './graphql/schema.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { openStores } from './stores/index.js';

const MAX_ENTITY_BATCH = 500;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { role: { type: 'string' }, services: { type: 'string' } },
    strict: true,
  });
  const overrides: Env = { ROLES: values.role };
  if (values.services === 'local') Object.assign(overrides, await startLocalServices());
  else if (values.services !== undefined) throw new Error(`--services takes "local", not "${values.services}"`);

  const config = loadConfig(overrides);
  const logger = createLogger(config.logLevel);
  const lifecycle = new Lifecycle(logger);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    void lifecycle.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown).once('SIGINT', shutdown);

  const stores = await openStores(config);
  lifecycle.onStop('stores', () => stores.close());
  const metrics = createMetrics();

  if (config.roles.includes('api')) {
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
    process.stdout.write(`GraphQL: ${api.url}  (adapters: ${config.adapters})\n`);
  }
  for (const role of config.roles.filter((r) => r !== 'api')) {
    logger.warn({ role }, 'role is not available in this build yet');
  }
  lifecycle.ready();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
