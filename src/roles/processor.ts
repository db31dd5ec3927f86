/** The processor role: the main consumer and the retry worker, sharing one applier. */
import type { Config } from '../config.js';
import { createKafka, ensureTopics, serviceTopics } from '../ingest/kafka.js';
import { createProcessor } from '../ingest/processor.js';
import { createRetryWorker } from '../ingest/retry-worker.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stores } from '../stores/index.js';
import { recoverIfLost } from '../sync/recovery.js';

/**
 * Starts consuming; first, if the online state was lost (Redis restarted
 * empty), rebuilds it from MongoDB and Kafka.
 */
export async function startProcessorRole(config: Config, stores: Stores, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<void> {
  const kafka = createKafka(config.kafka, logger);
  await ensureTopics(kafka, serviceTopics(config.kafka.topics));
  const store = stores.userStates;
  await recoverIfLost({ store, itemGraph: stores.itemGraph, profiles: stores.profiles, kafka, config, logger });
  const processor = createProcessor({ kafka, store, itemGraph: stores.itemGraph, profiles: stores.profiles, config, logger });
  const retryWorker = createRetryWorker({
    kafka,
    applier: processor.applier,
    topic: config.kafka.topics.activityRetry,
    groupId: `${config.processor.groupId}.retry`,
    logger,
  });
  metrics.observeApplier(processor.applier);
  await processor.start();
  lifecycle.onStop('processor', () => processor.stop());
  await retryWorker.start();
  lifecycle.onStop('retry worker', () => retryWorker.stop());
  logger.info({ group: config.processor.groupId, topics: config.kafka.topics }, 'processor consuming');
}
