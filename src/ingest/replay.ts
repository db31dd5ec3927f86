/**
 * Rebuilds state from the beginning of the input topics into a store (an
 * empty Redis namespace), with a fresh consumer group and no side effects,
 * and stops once every partition is consumed up to where it ended when the
 * replay began. Since features do not depend on batching, the result equals
 * the live run's state (versions aside: they count batches).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { PartitionOffsets } from '../stores/profile.js';
import type { UserStateStore } from '../stores/user-state.js';
import { createProcessor } from './processor.js';

export interface ReplayOptions {
  readonly kafka: Kafka;
  readonly store: UserStateStore;
  readonly config: Pick<Config, 'kafka' | 'processor' | 'instanceId'>;
  readonly logger: Logger;
  readonly onProgress?: (consumed: number, total: number) => void;
  /**
   * Where to start, by `topic/partition` (a recorded checkpoint); partitions
   * not named start at the beginning. The retry topic is replayed too then,
   * since events handed to it before the checkpoint may not have been applied.
   */
  readonly from?: PartitionOffsets;
}

type Offsets = Map<string, bigint>;

async function ends(kafka: Kafka, topics: readonly string[], groupId?: string): Promise<Offsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: Offsets = new Map();
    if (groupId === undefined) {
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}/${p.partition}`, BigInt(p.high));
      }
    } else {
      for (const t of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
        for (const p of t.partitions) out.set(`${t.topic}/${p.partition}`, BigInt(p.offset === '-1' ? 0 : p.offset));
      }
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

const total = (o: Offsets) => [...o.values()].reduce((a, b) => a + b, 0n);

export async function replay(o: ReplayOptions): Promise<{ messages: number; ms: number }> {
  const started = Date.now();
  const { topics } = o.config.kafka;
  const inputs = [topics.activity, topics.cdc, topics.profile, ...(o.from ? [topics.activityRetry] : [])];
  const groupId = `replay-${randomUUID()}`;
  const target = await ends(o.kafka, inputs);
  const processor = createProcessor({ ...o, groupId, fromBeginning: true, sideEffects: false, extraTopics: o.from ? [topics.activityRetry] : [] });
  await processor.start();
  for (const [tp, offset] of Object.entries(o.from ?? {})) {
    const [topic, partition] = [tp.slice(0, tp.lastIndexOf('/')), Number(tp.slice(tp.lastIndexOf('/') + 1))];
    if (inputs.includes(topic)) processor.consumer.seek({ topic, partition, offset: String(offset) });
  }
  try {
    for (;;) {
      const done = await ends(o.kafka, inputs, groupId);
      o.onProgress?.(Number(total(done)), Number(total(target)));
      const start = (tp: string) => BigInt(o.from?.[tp] ?? 0);
      if ([...target].every(([tp, end]) => (done.get(tp) ?? 0n) >= end || start(tp) >= end)) break;
      await sleep(250);
    }
  } finally {
    await processor.stop();
  }
  const replayed = [...target].reduce((n, [tp, end]) => n + Math.max(0, Number(end) - Number(o.from?.[tp] ?? 0)), 0);
  return { messages: replayed, ms: Date.now() - started };
}
