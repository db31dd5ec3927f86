/**
 * The processor (supervised across a loss of Redis) and, unless turned off,
 * a sync, over the servers of `config`, as the processor and sync roles run
 * them; for fault tests that take one of those servers away.
 */
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { committedOffsets, processorGroups } from '../../src/ingest/offsets.js';
import { createSupervisedProcessor } from '../../src/ingest/supervisor.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMongoProfileStore } from '../../src/stores/mongo-profile-store.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { createRestoringStore } from '../../src/stores/restoring-store.js';
import { createSync, type Sync, type SyncOptions } from '../../src/sync/sync.js';

export type SyncSettings = Partial<Pick<SyncOptions, 'batchSize' | 'leaseMs' | 'intervalMs' | 'breaker' | 'idleTtlMs'>>;

/** Starts them; `stop` stops everything in reverse order. */
export async function startRunningService(config: Config, opts: { sync?: SyncSettings | false } = {}) {
  const logger = createLogger('silent');
  const kafka = createKafka(config.kafka, logger);
  await ensureTopics(kafka, serviceTopics(config.kafka.topics));
  const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 500), keyPrefix: config.redis.keyPrefix, params: config.features });
  const profiles = await createMongoProfileStore({ url: config.mongo.url, db: config.mongo.db });
  await profiles.init();
  // A user gone from Redis comes back from MongoDB before its events apply, as in the processor role.
  const restoring = createRestoringStore(store, profiles, { idleTtlMs: config.redis.idleTtlMs });
  const supervisor = createSupervisedProcessor({ kafka, store: restoring, profiles, config, logger, probeIntervalMs: 200 });
  await supervisor.start();
  let sync: Sync | undefined;
  if (opts.sync !== false) {
    sync = createSync({
      store, profiles, offsets: () => committedOffsets(kafka, processorGroups(config.processor.groupId, config.kafka.topics)),
      batchSize: 500, leaseMs: 5_000, intervalMs: 200, idleTtlMs: config.redis.idleTtlMs, ...opts.sync,
    });
    sync.on('error', () => undefined);
    sync.start();
  }
  return {
    kafka, store, profiles, supervisor, sync,
    async stop() {
      await sync?.stop().catch(() => undefined);
      await supervisor.stop().catch(() => undefined);
      await Promise.allSettled([profiles.close(), store.close()]);
    },
  };
}
