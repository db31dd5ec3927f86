/**
 * Every API instance hears every feature update: a consumer of
 * `user-feature-updates` in a group of its own (so the topic is broadcast,
 * not shared), starting from the latest offset. The group is deleted on stop.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { FeatureUpdate } from './batch-applier.js';

export interface FeatureUpdatesEvents {
  update: [FeatureUpdate];
}

export interface FeatureUpdatesListener extends EventEmitter<FeatureUpdatesEvents> {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface FeatureUpdatesOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Names the instance in the group id. */
  readonly instanceId: string;
  readonly logger: Logger;
}

export function parseFeatureUpdate(value: Buffer | null): FeatureUpdate | undefined {
  if (value === null) return undefined;
  try {
    const u = JSON.parse(value.toString('utf8')) as Partial<FeatureUpdate>;
    return typeof u.userId === 'string' && typeof u.version === 'number' ? (u as FeatureUpdate) : undefined;
  } catch {
    return undefined;
  }
}

export function createFeatureUpdatesListener(o: FeatureUpdatesOptions): FeatureUpdatesListener {
  const groupId = `user-activity-api.${o.instanceId}.${randomUUID().slice(0, 8)}`;
  const consumer = o.kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 100 });
  const emitter = new EventEmitter<FeatureUpdatesEvents>() as FeatureUpdatesListener;
  emitter.start = async () => {
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const update = parseFeatureUpdate(message.value);
        if (update) emitter.emit('update', update);
        else o.logger.warn({ offset: message.offset }, 'ignoring a malformed feature update');
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
