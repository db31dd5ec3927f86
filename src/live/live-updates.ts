/**
 * src/live: what keeps an API instance's subscribers current. Every instance
 * hears every feature update and item graph update (feature-updates.ts) and
 * uses each twice: to drop stale entries of its L1 cache, and to wake the
 * subscriptions watching the user or the items through the hub (trending
 * ones at most every interval); the woken subscriptions read through
 * subscription-reads.ts. It may import graphql/, sync/, ingest/, stores/,
 * access/, contracts/, features/ and the base modules (config, errors,
 * lifecycle, observability).
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import { TRENDING, type UpdateHub } from '../graphql/subscriptions/hub.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import { createFeatureUpdatesListener, type FeatureUpdatesListener } from './feature-updates.js';
import { throttle } from './throttle.js';

export interface LiveUpdatesOptions {
  readonly kafka: Kafka;
  readonly config: Pick<Config, 'kafka' | 'recommendations' | 'instanceId'>;
  readonly hub: UpdateHub;
  /** The L1 cache, if any: an entry older than an update's version is dropped. */
  readonly cache?: { invalidate(userId: string, version: number): void } | undefined;
  readonly lifecycle: Lifecycle;
  readonly logger: Logger;
}

export interface LiveUpdates {
  /** Joins the updates' consumer group, retrying until Kafka and the topics answer. */
  subscribe(): Promise<void>;
}

/**
 * Wires the fan-out and registers its stop with the lifecycle at once: create
 * it before the server's step, so that sockets close before the consumer stops.
 */
export function createLiveUpdates(o: LiveUpdatesOptions): LiveUpdates {
  const { config, hub } = o;
  const listener = createFeatureUpdatesListener({
    kafka: o.kafka,
    topic: config.kafka.topics.featureUpdates,
    itemTopic: config.recommendations.enabled ? config.kafka.topics.itemUpdates : undefined,
    instanceId: config.instanceId,
    logger: o.logger,
  });
  listener.on('update', (u) => {
    o.cache?.invalidate(u.userId, u.version);
    hub.publish(u.userId, { version: u.version, eventTime: u.eventTime });
  });
  const trending = throttle(config.recommendations.trendingPushIntervalMs, (eventTime: number) => hub.publishItems([TRENDING], eventTime));
  listener.on('items', (u) => {
    hub.publishItems(u.items, u.eventTime);
    if (u.trending) trending.call(u.eventTime);
  });
  o.lifecycle.onStop('feature updates', async () => {
    trending.cancel();
    await listener.stop();
  });
  return { subscribe: () => keepSubscribed(listener, o.lifecycle, o.logger) };
}

/**
 * Subscribes `listener`, retrying until it succeeds (Kafka or its topics may
 * not be ready yet), and starts it again with backoff whenever kafkajs gives
 * up on it at run time.
 */
async function keepSubscribed(listener: FeatureUpdatesListener, lifecycle: Lifecycle, logger: Logger): Promise<void> {
  const name = 'kafka: feature updates';
  listener.on('crash', (error) => {
    logger.error({ err: error }, 'the feature updates consumer crashed; starting it again');
    // Queries do not need it, only pushes do: readiness stays as it is meanwhile. The helper logs any giving up.
    void lifecycle.retryUntilStopped(name, () => listener.start(), { firstDelayMs: 1000, reportNotReady: false }).catch(() => undefined);
  });
  await lifecycle.retryUntilStopped(name, () => listener.start());
}
