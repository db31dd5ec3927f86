/** The processor role: the main consumer and the retry worker, supervised across a loss of Redis. */
import type { Config } from '../config.js';
import type { Kafka } from 'kafkajs';
import { countApplier } from '../ingest/applier-metrics.js';
import { ensureTopics, serviceTopics } from '../ingest/kafka.js';
import { createSupervisedProcessor } from '../ingest/supervisor.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stores } from '../stores/index.js';
import { createRestoringStore } from '../stores/restoring-store.js';

export async function startProcessorRole(config: Config, kafka: Kafka, stores: Stores, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<void> {
  await lifecycle.retryUntilStopped('kafka topics', () => ensureTopics(kafka, serviceTopics(config.kafka.topics)));
  // A user gone from Redis (idle past REDIS_IDLE_TTL, or lost) comes back from MongoDB before its events apply.
  const store = createRestoringStore(stores.userStates, stores.profiles, {
    idleTtlMs: config.redis.idleTtlMs,
    onRestored: (count, ms) => {
      metrics.hotSet.restored.inc({ reason: 'event' }, count);
      metrics.hotSet.restoreDuration.observe({ reason: 'event' }, ms / 1000);
    },
  });
  const processor = createSupervisedProcessor({
    kafka,
    store,
    profiles: stores.profiles,
    itemGraph: stores.itemGraph,
    config,
    logger,
    observe: (applier) => countApplier(applier, metrics.processor),
    onRecovering: (recovering) => {
      metrics.degraded.recovering.set(recovering ? 1 : 0);
      if (recovering) metrics.degraded.recoveries.inc();
    },
    retry: (step, attempt) => lifecycle.retryUntilStopped(step, attempt),
  });
  await processor.start();
  lifecycle.onStop('processor', () => processor.stop());
  logger.info({ group: config.processor.groupId, topics: config.kafka.topics }, 'processor consuming');
}
