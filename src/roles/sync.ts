/** The sync role: dirty users from Redis to MongoDB, with offset checkpoints, and its metrics. */
import type { Config } from '../config.js';
import type { Kafka } from 'kafkajs';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stores } from '../stores/index.js';
import { committedOffsets, processorGroups } from '../ingest/offsets.js';
import { parkedUsersTopic } from '../sync/parked.js';
import { createSync } from '../sync/sync.js';
import { observeSync } from '../sync/sync-metrics.js';
import type { UserSnapshot } from '../contracts/user-snapshot.js';

export function startSyncRole(config: Config, kafka: Kafka, stores: Stores, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): void {
  const log = logger.child({ component: 'sync' });
  const parked = parkedUsersTopic(kafka, config.kafka.topics.syncParked);
  const sync = createSync({
    store: stores.userStates,
    profiles: stores.profiles,
    offsets: () => committedOffsets(kafka, processorGroups(config.processor.groupId, config.kafka.topics)),
    batchSize: config.sync.batchSize,
    leaseMs: config.sync.leaseMs,
    intervalMs: config.sync.intervalMs,
    parkAfter: config.sync.parkAfter,
    idleTtlMs: config.redis.idleTtlMs,
    park: async (userId: string, snapshot: UserSnapshot, error: unknown) => {
      await parked.park(userId, snapshot, error);
      log.error({ userId, version: snapshot.state.version, err: error }, 'MongoDB would not take this user: parked (re-drive with npm run redrive-parked)');
    },
  });
  observeSync(sync, stores.userStates, metrics, log);
  sync.start();
  lifecycle.onStop('sync', async () => {
    await sync.stop();
    await parked.close();
  });
  log.info({ intervalMs: config.sync.intervalMs, leaseMs: config.sync.leaseMs }, 'sync running');
}
