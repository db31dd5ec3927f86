/**
 * Entry point. One codebase, roles chosen at start:
 *
 *   main [--role api|processor|sync|collector|all] [--services local] [--supergraph]
 *   main replay --prefix <redis key prefix>
 *   main recover
 *   main redrive-parked
 *
 * `--role` (or ROLES) picks the roles; `--services local` starts the local
 * servers (scripts/services.sh) and uses them. Without server URLs in the
 * environment the process runs embedded, on in-process adapters, serving the
 * API (`npm run dev` on a machine with nothing installed). `--supergraph`
 * also starts the example users subgraph and Hive Gateway (src/dev/supergraph.ts). `replay` rebuilds
 * the state from the beginning of the input topics into an empty namespace; `recover`
 * rebuilds a lost Redis from MongoDB and Kafka (the processor also does this
 * by itself at start when it finds the online state gone); `redrive-parked`
 * writes the snapshots the sync parked to MongoDB (src/sync/parked.ts).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config, type Env } from './config.js';
import { startLocalServices } from './dev/local-services.js';
import { startLocalSupergraph } from './dev/supergraph.js';
import { StoppedError } from './errors.js';
import { createKafka, openEventLog } from './ingest/kafka.js';
import { replay } from './ingest/replay.js';
import { Lifecycle } from './lifecycle.js';
import { startDemoTraffic } from './demo/traffic.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { startMetricsServer } from './observability/metrics-server.js';
import { startApiRole } from './roles/api.js';
import { startCollectorRole } from './roles/collector.js';
import { startProcessorRole } from './roles/processor.js';
import { startSyncRole } from './roles/sync.js';
import { redriveParked } from './sync/parked.js';
import { recover } from './ingest/recovery.js';
import { openStores, type Stores } from './stores/index.js';

async function serve(config: Config, logger: Logger, supergraph: boolean): Promise<void> {
  const lifecycle = new Lifecycle(logger);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    void lifecycle.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown).once('SIGINT', shutdown);

  const stores = await openStores(config, logger);
  lifecycle.onStop('stores', () => stores.close());
  // MongoDB may come up after this process: wait for it (readiness says so) rather than exit.
  const mongodb = lifecycle.retryUntilStopped('mongodb: indexes', () => stores.init());
  const eviction = guardEviction(config, stores, lifecycle, logger);
  const metrics = createMetrics();
  const scrape = await startMetricsServer(config.metrics.host, config.metrics.port, metrics.registry);
  lifecycle.onStop('metrics', () => scrape.stop());
  logger.info({ url: scrape.url }, 'metrics served');

  // Side by side: a role waiting for its dependency does not hold the others back.
  // Embedded, one in-process log: what the collector appends, the processor of this process reads.
  const kafka = openEventLog(config, logger);
  const starting: Promise<void>[] = [];
  if (config.roles.includes('processor')) starting.push(startProcessorRole(config, kafka, stores, lifecycle, logger, metrics));
  if (config.roles.includes('api')) {
    const page = (url: string) => (config.demo.page ? `Live page: ${url.replace(/graphql$/, '')}\n` : '');
    const api = startApiRole(config, kafka, stores, lifecycle, logger, metrics);
    starting.push(api.then((url) => void process.stdout.write(`GraphQL: ${url}  (adapters: ${config.adapters})\n${page(url)}`)));
    if (supergraph) {
      starting.push(
        api.then(async (url) => {
          const gateway = await startLocalSupergraph(url);
          lifecycle.onStop('supergraph', () => gateway.stop());
          process.stdout.write(`Supergraph: ${gateway.url}\n`);
        }),
      );
    }
  }
  if (config.roles.includes('sync')) startSyncRole(config, kafka, stores, lifecycle, logger, metrics);
  if (config.roles.includes('collector')) {
    const collecting = startCollectorRole(config, kafka, lifecycle, logger, metrics);
    starting.push(collecting.then((url) => void process.stdout.write(`Collector: ${url}/v1/events\n`)));
    if (config.demo.traffic) {
      void collecting.then((url) => {
        const traffic = startDemoTraffic({ url: `${url}/v1/events`, rate: config.demo.trafficRate, logger });
        lifecycle.onStop('demo traffic', async () => traffic.stop());
      }, () => undefined);
    }
  }
  await Promise.all([mongodb, eviction, ...starting]);
  lifecycle.ready();
}

/**
 * Reads Redis' eviction policy once it answers: one that may evict a dirty
 * user, the dirty index or the generation is refused in production (the
 * start fails) and warned of elsewhere; one that cannot be read is warned of.
 */
async function guardEviction(config: Config, stores: Stores, lifecycle: Lifecycle, logger: Logger): Promise<void> {
  const verdict = await lifecycle.retryUntilStopped('redis: eviction policy', () => stores.checkEviction());
  if (!verdict) return;
  const fix = 'set maxmemory-policy to noeviction or a volatile-* policy (README: Memory)';
  if (verdict.unknown.length > 0) logger.warn({ nodes: verdict.unknown }, `could not read Redis' maxmemory-policy; ${fix}`);
  if (verdict.unsafe.length === 0) return;
  const policies = Object.fromEntries(verdict.unsafe.map((n) => [n, verdict.policies[n]]));
  if (config.env === 'production') throw new ConfigError(`Redis may evict keys this service relies on (${JSON.stringify(policies)}): ${fix}`);
  logger.warn({ policies }, `Redis may evict a dirty user, the dirty index or the generation key; ${fix}`);
}

/** Runs a one-off command over the real servers' stores, ready, and closes them after. */
async function withServerStores(command: string, needs: string, config: Config, logger: Logger, run: (stores: Stores) => Promise<void>): Promise<void> {
  if (config.adapters === 'memory') throw new Error(`${command} needs ${needs}`);
  const stores = await openStores(config, logger);
  try {
    await stores.init();
    await run(stores);
  } finally {
    await stores.close();
  }
}

const runReplay = (config: Config, logger: Logger) =>
  withServerStores('replay', 'REDIS_URL, KAFKA_BROKERS and MONGO_URL', config, logger, async (stores) => {
    const result = await replay({
      kafka: createKafka(config.kafka, logger),
      store: stores.userStates,
      itemGraph: stores.itemGraph,
      config,
      logger,
      onProgress: (done, total) => process.stderr.write(`\rreplayed ${done}/${total}`),
    });
    process.stdout.write(`\nreplayed ${result.messages} messages into "${config.redis.keyPrefix}" in ${result.ms} ms\n`);
  });

const runRecover = (config: Config, logger: Logger) =>
  withServerStores('recover', 'REDIS_URL, KAFKA_BROKERS and MONGO_URL', config, logger, async (stores) => {
    // Forced only when Redis lost its state: over a live one, a newer state must win.
    const force = (await stores.userStates.generation()) === undefined;
    const { reset, replayed } = await recover({ store: stores.userStates, itemGraph: stores.itemGraph, profiles: stores.profiles, kafka: createKafka(config.kafka, logger), config, logger }, { force });
    process.stdout.write(`replayed ${replayed} messages (their users restored from MongoDB first), reset ${reset} users an uncommitted batch had written; the others are restored when read or when their next event arrives\n`);
  });

const runRedriveParked = (config: Config, logger: Logger) =>
  withServerStores('redrive-parked', 'KAFKA_BROKERS and MONGO_URL', config, logger, async (stores) => {
    const topic = config.kafka.topics.syncParked;
    const result = await redriveParked({ kafka: createKafka(config.kafka, logger), topic, groupId: `${config.processor.groupId}.redrive-parked`, profiles: stores.profiles });
    process.stdout.write(`re-drove ${result.written} parked users (${result.stale} already as new in MongoDB)\n`);
    if (result.failed) throw new Error(`stopped at user ${result.failed.userId}, which MongoDB refused again: ${result.failed.error}`);
  });

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { role: { type: 'string' }, services: { type: 'string' }, prefix: { type: 'string' }, supergraph: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const overrides: Env = { ROLES: values.role, REDIS_KEY_PREFIX: values.prefix };
  if (values.services === 'local') Object.assign(overrides, await startLocalServices());
  else if (values.services !== undefined) throw new Error(`--services takes "local", not "${values.services}"`);

  const config = loadConfig(overrides);
  const logger = createLogger(config.logLevel, { instance: config.instanceId });
  const [command = 'serve'] = positionals;
  if (command === 'serve') return serve(config, logger, values.supergraph ?? false);
  if (command === 'replay') {
    if (!values.prefix) throw new Error('replay needs --prefix: an empty Redis key namespace to rebuild into');
    return runReplay(config, logger);
  }
  if (command === 'recover') return runRecover(config, logger);
  if (command === 'redrive-parked') return runRedriveParked(config, logger);
  throw new Error(`unknown command "${command}"; use serve (the default), replay, recover or redrive-parked`);
}

main().catch((error: unknown) => {
  // A stop during start-up: the signal handler exits once the stop steps have run.
  if (error instanceof StoppedError) return;
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
