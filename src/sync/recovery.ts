/**
 * Rebuilds a lost Redis: every profile's snapshot is restored from MongoDB
 * (version-checked: a newer state already back in Redis is kept), then Kafka
 * is replayed from the offsets the snapshots cover up to the offsets the
 * processor's groups have committed: exactly what had been applied before the
 * loss, so the live groups then go on where they stood and nothing is done
 * twice (a first start over a topic with history replays nothing: no offsets
 * are committed yet, and the live group reads it once). Snapshots carry their
 * dedupe memory (seen ids and offset marks), so an event both in a snapshot
 * and in the replay counts once. Nothing processed before the loss is lost:
 * whatever the last sync did not write is at or after the recorded offsets.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import { committedOffsets, processorGroups } from '../ingest/offsets.js';
import { replay } from '../ingest/replay.js';
import type { Logger } from '../observability/logger.js';
import type { ItemGraphStore } from '../stores/item-graph.js';
import type { ProfileStore } from '../stores/profile.js';
import type { UserStateStore } from '../stores/user-state.js';

export interface RecoveryOptions {
  readonly store: UserStateStore;
  readonly profiles: ProfileStore;
  /** Gains the replayed events; what it held before the loss is not kept in MongoDB (see the README). */
  readonly itemGraph?: ItemGraphStore;
  readonly kafka: Kafka;
  readonly config: Pick<Config, 'kafka' | 'processor' | 'instanceId' | 'features' | 'recommendations'>;
  readonly logger: Logger;
}

export async function recover(o: RecoveryOptions): Promise<{ restored: number; replayed: number }> {
  let restored = 0;
  for await (const batch of o.profiles.scan(500)) {
    await Promise.all(batch.map((p) => o.store.restore(p.userId, p.snapshot)));
    restored += batch.length;
  }
  const from = await o.profiles.loadCheckpoint();
  const to = await committedOffsets(o.kafka, processorGroups(o.config.processor.groupId, o.config.kafka.topics));
  const { messages } = await replay({ kafka: o.kafka, store: o.store, ...(o.itemGraph ? { itemGraph: o.itemGraph } : {}), config: o.config, logger: o.logger, from, to });
  await o.store.markOnline(Date.now());
  o.logger.info({ restored, replayed: messages, from }, 'recovered the online state');
  return { restored, replayed: messages };
}

/** Recovers when the store has lost its state (no online marker), as at a processor's start. */
export async function recoverIfLost(o: RecoveryOptions): Promise<boolean> {
  if ((await o.store.onlineSince()) !== undefined) return false;
  o.logger.warn('the online state is empty or was lost: recovering from MongoDB and Kafka');
  await recover(o);
  return true;
}
