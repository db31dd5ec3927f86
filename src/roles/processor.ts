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

export async function startProcessorRole(config: Config, kafka: Kafka, stores: Stores, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<void> {
  await lifecycle.retryUntilStopped('kafka topics', () => ensureTopics(kafka, serviceTopics(config.kafka.topics)));
  const processor = createSupervisedProcessor({
    kafka,
    store: stores.userStates,
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
