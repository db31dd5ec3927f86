/**
 * The collector role: events over HTTP (COLLECTOR_PORT), validated with the
 * processor's own contract, limited per app and per client IP through Redis,
 * and produced to `user-activity` (key = userId) before the sender hears 202.
 *
 * The server starts first, so /health/live answers at once; /health/ready
 * waits for Kafka to answer.
 */
import type { Kafka } from 'kafkajs';
import { createEventProducer } from '../collector/producer.js';
import { createEventLimiter } from '../collector/rate-limit.js';
import { startCollectorServer } from '../collector/server.js';
import type { Config } from '../config.js';
import { ensureTopics, kafkaAnswers, serviceTopics } from '../ingest/kafka.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { redisKeys } from '../stores/keys.js';
import { connectRedis } from '../stores/redis-connection.js';

export async function startCollectorRole(config: Config, kafka: Kafka, lifecycle: Lifecycle, logger: Logger, metrics: Metrics): Promise<string> {
  const producer = createEventProducer(kafka, config.kafka.topics.activity);
  // Embedded: the limits are held in this process, as the other state is.
  const redis = config.adapters === 'servers' ? connectRedis(config.redis) : undefined;
  const limiter = createEventLimiter(redis && { redis, keyPrefix: redisKeys(config.redis.keyPrefix).rateLimitPrefix }, config.collector);
  const kafkaCheck = kafkaAnswers(kafka);
  const server = await startCollectorServer({
    config: config.collector,
    bounds: config.features,
    producer,
    limiter,
    dependencies: [{ name: 'kafka', check: () => kafkaCheck.check() }],
    lifecycle,
    metrics,
    logger,
  });
  lifecycle.onStop('collector', async () => {
    await server.stop();
    await Promise.allSettled([producer.close(), kafkaCheck.close()]);
    redis?.disconnect();
  });
  // The collector may start before any processor has created the topics.
  await lifecycle.retryUntilStopped('kafka topics', () => ensureTopics(kafka, serviceTopics(config.kafka.topics)));
  await lifecycle.retryUntilStopped('kafka: collector producer', () => producer.connect());
  logger.info({ url: server.url }, 'collector ready');
  return server.url;
}
