/**
 * src/ingest: Kafka into the online state: the processor and its retry
 * worker (processor.ts, retry-worker.ts, batch-applier.ts with its plan,
 * outcome policy and kafkajs adapter), the supervisor that survives a Redis
 * loss, replay and recovery, and the Kafka client and its in-process twin.
 * It may import stores/, contracts/, features/ and the base modules.
 *
 * The processor role: a kafkajs consumer group over the activity, CDC and
 * profile topics. Offsets are explicit: a batch's last offset is resolved and
 * committed only after its events are in Redis (or durably handed to the
 * retry or dead-letter topic) and the feature updates are sent. A crash at
 * any point therefore redelivers, and the per-user dedupe makes that harmless.
 *
 * Profile events go through the same applier as activity: applied to Redis
 * at once, in order, version-checked; the sync carries them to MongoDB, so a
 * MongoDB outage never holds a partition.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { ItemGraphStore } from '../stores/item-graph.js';
import type { UserStateStore } from '../stores/user-state.js';
import { createRenewingProducer } from './renewing-producer.js';
import { BatchApplier } from './batch-applier.js';
import { batchControl, commitResolved } from './kafka-batch.js';
import type { PartitionOffsets } from '../contracts/offset-checkpoint.js';

export interface ProcessorOptions {
  readonly kafka: Kafka;
  readonly store: UserStateStore;
  readonly config: Pick<Config, 'kafka' | 'processor' | 'instanceId' | 'features' | 'recommendations'>;
  readonly logger: Logger;
  /** Where co-occurrence and trending are kept; without it (or with recommendations off) none are. */
  readonly itemGraph?: ItemGraphStore;
  /** Consumer group; the configured one by default. */
  readonly groupId?: string;
  /** Start a group with no committed offsets from the beginning (replays) rather than the end. */
  readonly fromBeginning?: boolean;
  /** false for a replay: only the store changes. */
  readonly sideEffects?: boolean;
  /** Whether the store still holds the state batches are applied to (see ApplierOptions.online). */
  readonly online?: () => Promise<boolean>;
  /** Topics consumed as activity besides the configured ones (a recovery replays the retry topic). */
  readonly extraTopics?: readonly string[];
  /**
   * Consume each partition only up to this offset (exclusive), by `topic/partition`:
   * a replay takes exactly what it was asked to, and nothing the live group will read again.
   */
  readonly stopAt?: PartitionOffsets;
  readonly clock?: () => number;
}

export interface Processor {
  /** Instrumentation events of every batch. */
  readonly applier: BatchApplier;
  readonly consumer: Consumer;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createProcessor(o: ProcessorOptions): Processor {
  const { topics } = o.config.kafka;
  const log = o.logger.child({ component: 'processor' });
  const clock = o.clock ?? Date.now;
  // Replaced after a failed send, so no later batch is taken for a retry of one that landed.
  const producer = createRenewingProducer(o.kafka);
  const consumer = o.kafka.consumer({
    groupId: o.groupId ?? o.config.processor.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: o.config.processor.fetchBytes,
    maxBytes: 4 * o.config.processor.fetchBytes,
  });
  const applier = new BatchApplier({
    store: o.store,
    producer,
    topics,
    cdcTypeMap: o.config.processor.cdcTypeMap,
    admission: o.config.features,
    instanceId: o.config.instanceId,
    applyAttempts: o.config.processor.applyAttempts,
    retryTopicAttempts: o.config.processor.retryTopicAttempts,
    retryBaseDelayMs: o.config.processor.retryBaseDelayMs,
    sideEffects: o.sideEffects ?? true,
    online: o.online,
    graph: o.itemGraph && o.config.recommendations.enabled ? { store: o.itemGraph, params: o.config.recommendations, weights: o.config.features.weights } : undefined,
    clock,
  });
  applier.on('storeUnavailable', ({ error }) => log.warn({ err: error }, 'store unavailable; holding the batch'));
  applier.on('deadLetter', (d) => log.warn(d, 'dead letter'));
  applier.on('graphFailed', ({ error }) => log.error({ err: error }, 'item graph refused a batch; recommendations miss it'));

  /** The batch's messages below `stopAt`, if one is set. */
  function wanted(p: EachBatchPayload) {
    const stop = o.stopAt?.[`${p.batch.topic}/${p.batch.partition}`];
    return stop === undefined ? p.batch.messages : p.batch.messages.filter((m) => Number(m.offset) < stop);
  }

  async function eachBatch(p: EachBatchPayload): Promise<void> {
    const messages = wanted(p);
    if (messages.length === 0) return;
    const outcome = await applier.apply(p.batch.topic, p.batch.partition, messages, batchControl(p));
    if (outcome === 'abandoned') return;
    p.resolveOffset(messages[messages.length - 1]!.offset);
    await commitResolved(p);
  }

  return {
    applier,
    consumer,
    async start() {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [topics.activity, topics.cdc, topics.profile, ...(o.extraTopics ?? [])], fromBeginning: o.fromBeginning ?? true });
      consumer.on(consumer.events.CRASH, (e) => log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed'));
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: o.config.processor.concurrency,
        eachBatch,
      });
    },
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
