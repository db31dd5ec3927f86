/** Committed offsets of consumer groups, as `topic/partition` → next offset to read. */
import type { Kafka } from 'kafkajs';
import type { PartitionOffsets } from '../stores/profile.js';

export interface GroupTopics {
  readonly groupId: string;
  readonly topics: readonly string[];
}

export async function committedOffsets(kafka: Kafka, groups: readonly GroupTopics[]): Promise<PartitionOffsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: Record<string, number> = {};
    for (const { groupId, topics } of groups) {
      for (const t of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
        for (const p of t.partitions) out[`${t.topic}/${p.partition}`] = Math.max(0, Number(p.offset));
      }
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}
