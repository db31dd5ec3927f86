/**
 * Every API instance hears every feature update and every item graph update:
 * one consumer of `user-feature-updates` and `item-graph-updates` in a group
 * of its own (so the topics are broadcast, not shared), starting from the
 * latest offsets. The group is deleted on stop.
 *
 * `start` is one attempt, done once the group is joined: the api role retries
 * it with backoff (Kafka or a topic may not be ready when the API starts) and
 * starts it again on `crash`, when kafkajs gave up on the consumer at run time.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { EachMessageHandler, Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import { parseFeatureUpdate, type FeatureUpdate } from '../contracts/feature-update.js';
import { parseItemGraphUpdate, type ItemGraphUpdate } from '../contracts/item-graph-update.js';

export interface FeatureUpdatesEvents {
  update: [FeatureUpdate];
  items: [ItemGraphUpdate];
  /** The consumer crashed after it had started, and kafkajs will not restart it. */
  crash: [Error];
}

export interface FeatureUpdatesListener extends EventEmitter<FeatureUpdatesEvents> {
  /** Connects, subscribes and runs; resolves once the group is joined, rejects with what stopped it. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface FeatureUpdatesOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** The item-updates topic, when this instance serves recommendations. */
  readonly itemTopic?: string | undefined;
  /** Names the instance in the group id. */
  readonly instanceId: string;
  readonly logger: Logger;
}

export function createFeatureUpdatesListener(o: FeatureUpdatesOptions): FeatureUpdatesListener {
  const groupId = `user-activity-api.${o.instanceId}.${randomUUID().slice(0, 8)}`;
  const consumer = o.kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 100 });
  const emitter = new EventEmitter<FeatureUpdatesEvents>() as FeatureUpdatesListener;
  let joinedOnce = false;
  /** Rejects the start in progress, if any. */
  let failStart: ((error: Error) => void) | undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedOnce = true));
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    // With restart true kafkajs starts the consumer again itself; with false it has disconnected it.
    if (payload.restart) return;
    if (failStart) failStart(payload.error);
    else emitter.emit('crash', payload.error);
  });
  const eachMessage: EachMessageHandler = async ({ topic, message }) => {
    if (topic === o.itemTopic) {
      const items = parseItemGraphUpdate(message.value);
      if (items) emitter.emit('items', items);
      else o.logger.warn({ topic, offset: message.offset }, 'ignoring a malformed item graph update');
      return;
    }
    const update = parseFeatureUpdate(message.value);
    if (update) emitter.emit('update', update);
    else o.logger.warn({ topic, offset: message.offset }, 'ignoring a malformed feature update');
  };
  emitter.start = async () => {
    await consumer.connect();
    await consumer.subscribe({ topics: [o.topic, ...(o.itemTopic ? [o.itemTopic] : [])], fromBeginning: false });
    // run() reports a failure to join as a crash, not as a rejection: wait for the join, or for that crash.
    let offJoin: () => void = () => undefined;
    const joined = new Promise<void>((resolve, reject) => {
      failStart = reject;
      offJoin = consumer.on(consumer.events.GROUP_JOIN, () => resolve());
    });
    try {
      await Promise.all([joined, consumer.run({ eachMessage })]);
    } finally {
      offJoin();
      failStart = undefined;
    }
  };
  emitter.stop = async () => {
    await consumer.disconnect();
    // Never joined, no group to delete (and Kafka may still be away).
    if (!joinedOnce) return;
    const admin = o.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  };
  return emitter;
}
