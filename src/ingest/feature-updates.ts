/**
 * Every API instance hears every feature update and every item graph update:
 * one consumer of `user-feature-updates` and `item-graph-updates` in a group
 * of its own (so the topics are broadcast, not shared), starting from the
 * latest offsets. The group is deleted on stop.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { FeatureUpdate, ItemGraphUpdate } from './batch-applier.js';

export interface FeatureUpdatesEvents {
  update: [FeatureUpdate];
  items: [ItemGraphUpdate];
}

export interface FeatureUpdatesListener extends EventEmitter<FeatureUpdatesEvents> {
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

/** A message's JSON value as `T` when `valid` accepts it; undefined for a tombstone, bad JSON or the wrong shape. */
function parseAs<T>(value: Buffer | null, valid: (v: Partial<T>) => boolean): T | undefined {
  if (value === null) return undefined;
  try {
    const v = JSON.parse(value.toString('utf8')) as Partial<T> | null;
    return v !== null && typeof v === 'object' && valid(v) ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}

export const parseFeatureUpdate = (value: Buffer | null): FeatureUpdate | undefined =>
  parseAs<FeatureUpdate>(value, (u) => typeof u.userId === 'string' && typeof u.version === 'number');

export const parseItemGraphUpdate = (value: Buffer | null): ItemGraphUpdate | undefined =>
  parseAs<ItemGraphUpdate>(value, (u) => Array.isArray(u.items) && u.items.every((i) => typeof i === 'string') && typeof u.trending === 'boolean');

export function createFeatureUpdatesListener(o: FeatureUpdatesOptions): FeatureUpdatesListener {
  const groupId = `user-activity-api.${o.instanceId}.${randomUUID().slice(0, 8)}`;
  const consumer = o.kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 100 });
  const emitter = new EventEmitter<FeatureUpdatesEvents>() as FeatureUpdatesListener;
  emitter.start = async () => {
    await consumer.connect();
    await consumer.subscribe({ topics: [o.topic, ...(o.itemTopic ? [o.itemTopic] : [])], fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === o.itemTopic) {
          const items = parseItemGraphUpdate(message.value);
          if (items) emitter.emit('items', items);
          else o.logger.warn({ topic, offset: message.offset }, 'ignoring a malformed item graph update');
          return;
        }
        const update = parseFeatureUpdate(message.value);
        if (update) emitter.emit('update', update);
        else o.logger.warn({ topic, offset: message.offset }, 'ignoring a malformed feature update');
      },
    });
  };
  emitter.stop = async () => {
    await consumer.disconnect();
    const admin = o.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  };
  return emitter;
}
