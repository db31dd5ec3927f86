/**
 * Kafka offsets as `topic/partition` → offset: a group's committed offsets
 * (the next to read; 0 where it has committed none) and the topics' ends.
 */
import type { Kafka } from 'kafkajs';
import type { PartitionOffsets } from '../contracts/offset-checkpoint.js';

export interface GroupTopics {
  readonly groupId: string;
  readonly topics: readonly string[];
}

async function withAdmin<T>(kafka: Kafka, use: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

export const committedOffsets = (kafka: Kafka, groups: readonly GroupTopics[]): Promise<PartitionOffsets> =>
  withAdmin(kafka, async (admin) => {
    const out: Record<string, number> = {};
    for (const { groupId, topics } of groups) {
      for (const t of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
        for (const p of t.partitions) out[`${t.topic}/${p.partition}`] = Math.max(0, Number(p.offset));
      }
    }
    return out;
  });

/** The processor's groups: the main one on its inputs, the retry worker's on the retry topic. */
export const processorGroups = (groupId: string, topics: { activity: string; cdc: string; profile: string; activityRetry: string }): GroupTopics[] => [
  { groupId, topics: [topics.activity, topics.cdc, topics.profile] },
  { groupId: `${groupId}.retry`, topics: [topics.activityRetry] },
];

export const endOffsets = (kafka: Kafka, topics: readonly string[]): Promise<PartitionOffsets> =>
  withAdmin(kafka, async (admin) => {
    const out: Record<string, number> = {};
    for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) out[`${topic}/${p.partition}`] = Number(p.high);
    return out;
  });

/** Whether every partition of `ends` is reached by `offsets` (or by `from`, where that starts past it). */
export const reached = (offsets: PartitionOffsets, ends: PartitionOffsets, from: PartitionOffsets = {}): boolean =>
  Object.entries(ends).every(([tp, end]) => (offsets[tp] ?? 0) >= end || (from[tp] ?? 0) >= end);

export const sum = (offsets: PartitionOffsets): number => Object.values(offsets).reduce((a, b) => a + b, 0);
