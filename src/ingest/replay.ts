/**
 * Rebuilds state from the beginning of the input topics into a store (an
 * empty Redis namespace), with a fresh consumer group and no side effects,
 * and stops once every partition is consumed up to where it ended when the
 * replay began (or up to `to`), taking nothing past that. Since features do
 * not depend on batching, the result equals the live run's state (versions
 * aside: they count batches).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { ItemGraphStore } from '../stores/item-graph.js';
import type { UserStateStore } from '../stores/user-state.js';
import { committedOffsets, endOffsets, reached, sum } from './offsets.js';
import { createProcessor } from './processor.js';
import type { PartitionOffsets } from '../contracts/offset-checkpoint.js';

export interface ReplayOptions {
  readonly kafka: Kafka;
  readonly store: UserStateStore;
  /** Rebuilt too, from the replayed events, when given. */
  readonly itemGraph?: ItemGraphStore;
  readonly config: Pick<Config, 'kafka' | 'processor' | 'instanceId' | 'features' | 'recommendations'>;
  readonly logger: Logger;
  readonly onProgress?: (consumed: number, total: number) => void;
  /**
   * Where to start, by `topic/partition` (a recorded checkpoint); partitions
   * not named start at the beginning. The retry topic is replayed too then,
   * since events handed to it before the checkpoint may not have been applied.
   */
  readonly from?: PartitionOffsets;
  /** Where to stop, by `topic/partition` (exclusive); the topics' ends when the replay begins by default. */
  readonly to?: PartitionOffsets;
}

export async function replay(o: ReplayOptions): Promise<{ messages: number; ms: number }> {
  const started = Date.now();
  const { topics } = o.config.kafka;
  const inputs = [topics.activity, topics.cdc, topics.profile, ...(o.from ? [topics.activityRetry] : [])];
  const groupId = `replay-${randomUUID()}`;
  const ends = await endOffsets(o.kafka, inputs);
  const target = o.to ? Object.fromEntries(Object.keys(ends).map((tp) => [tp, Math.min(ends[tp]!, o.to![tp] ?? 0)])) : ends;
  const replayed = Object.entries(target).reduce((n, [tp, end]) => n + Math.max(0, end - (o.from?.[tp] ?? 0)), 0);
  if (replayed === 0) return { messages: 0, ms: Date.now() - started };
  const processor = createProcessor({ ...o, groupId, fromBeginning: true, sideEffects: false, stopAt: target, extraTopics: o.from ? [topics.activityRetry] : [] });
  await processor.start();
  for (const [tp, offset] of Object.entries(o.from ?? {})) {
    const [topic, partition] = [tp.slice(0, tp.lastIndexOf('/')), Number(tp.slice(tp.lastIndexOf('/') + 1))];
    if (inputs.includes(topic)) processor.consumer.seek({ topic, partition, offset: String(offset) });
  }
  try {
    for (;;) {
      const done = await committedOffsets(o.kafka, [{ groupId, topics: inputs }]);
      o.onProgress?.(sum(done), sum(target));
      if (reached(done, target, o.from)) break;
      await sleep(250);
    }
  } finally {
    await processor.stop();
  }
  return { messages: replayed, ms: Date.now() - started };
}
