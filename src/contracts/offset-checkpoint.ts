/**
 * Kafka positions as the service records them: `topic/partition` → the next
 * offset to read. The sync saves them beside the snapshots (what MongoDB
 * covers), a snapshot carries the highest offset taken per partition, and a
 * recovery replays from them up to the groups' committed offsets.
 */
import { z } from 'zod';

export const PartitionOffsetsSchema = z.record(z.string().regex(/^.+\/\d+$/, 'not topic/partition'), z.number().int().nonnegative()).readonly();

/** Next offset to read, by `topic/partition`. */
export type PartitionOffsets = z.infer<typeof PartitionOffsetsSchema>;

/** The key of one partition in a {@link PartitionOffsets}. */
export const partitionKey = (topic: string, partition: number): string => `${topic}/${partition}`;
