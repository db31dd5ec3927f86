/**
 * The applier's kafkajs adapter: what an `eachBatch` payload lends it, and
 * the commit of exactly what it resolved. Offsets are explicit: autoCommit
 * is off, so nothing is committed behind the caller's back.
 */
import type { EachBatchPayload } from 'kafkajs';
import type { BatchControl } from './outcome-policy.js';

/** Its heartbeat, and activity until the consumer stops or loses the partition. */
export const batchControl = (p: EachBatchPayload): BatchControl => ({
  heartbeat: () => p.heartbeat(),
  isActive: () => p.isRunning() && !p.isStale(),
});

/** Commits the offsets resolved so far, then heartbeats. */
export async function commitResolved(p: EachBatchPayload): Promise<void> {
  await p.commitOffsetsIfNecessary(p.uncommittedOffsets());
  await p.heartbeat();
}
