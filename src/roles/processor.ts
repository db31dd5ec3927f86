/** The processor role: the main consumer and the retry worker, sharing one applier. */
import type { Config } from '../config.js';
import { createKafka, ensureTopics, serviceTopics } from '../ingest/kafka.js';
import { createProcessor } from '../ingest/processor.js';
import { createRetryWorker } from '../ingest/retry-worker.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { UserStateStore } from '../stores/user-state.js';

export async function startProcessorRole(config: Config, store: UserStateStore, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<void> {
  const kafka = createKafka(config.kafka, logger);
  await ensureTopics(kafka, serviceTopics(config.kafka.topics));
  const processor = createProcessor({ kafka, store, config, logger });
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
