/**
 * Rebuilds a lost Redis: every profile's snapshot is restored from MongoDB,
 * then Kafka is replayed from the offsets the snapshots cover up to the
 * offsets the processor's groups have committed: exactly what had been
 * applied before the loss, so the live groups then go on where they stood and
 * nothing is done twice (a first start over a topic with history replays
 * nothing: no offsets are committed yet, and the live group reads it once).
 * Snapshots carry their dedupe memory (seen ids and offset marks), so an
 * event both in a snapshot and in the replay counts once. Nothing processed
 * before the loss is lost: whatever the last sync did not write is at or
 * after the recorded offsets.
 *
 * After a loss the restore is forced: whatever Redis holds by then was
 * written by batches that were not committed (every processor checks the
 * generation before it commits), so a snapshot replaces it even where its
 * version is lower; those batches are delivered again and counted once.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import { committedOffsets, processorGroups } from './offsets.js';
import { replay } from './replay.js';
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
  readonly config: Pick<Config, 'kafka' | 'processor' | 'instanceId' | 'features' | 'recommendations' | 'redis'>;
  readonly logger: Logger;
}

/** How long one instance may hold the recovery lock before another may take over (a dead recoverer). */
const RECOVERY_LOCK_MS = 10 * 60_000;

const newGeneration = (): string => `${Date.now()}-${randomUUID().slice(0, 8)}`;

export async function recover(o: RecoveryOptions, { force }: { force: boolean }): Promise<{ restored: number; replayed: number; generation: string }> {
  let restored = 0;
  for await (const batch of o.profiles.scan(500)) {
    // A snapshot restored is durable: it may leave again once idle (REDIS_IDLE_TTL).
    await Promise.all(batch.map((p) => o.store.restore(p.userId, p.snapshot, { force, idleTtlMs: o.config.redis.idleTtlMs })));
    restored += batch.length;
  }
  const from = await o.profiles.loadCheckpoint();
  const to = await committedOffsets(o.kafka, processorGroups(o.config.processor.groupId, o.config.kafka.topics));
  const { messages } = await replay({ kafka: o.kafka, store: o.store, ...(o.itemGraph ? { itemGraph: o.itemGraph } : {}), config: o.config, logger: o.logger, from, to });
  const generation = newGeneration();
  await o.store.markOnline(generation);
  o.logger.info({ restored, replayed: messages, from, generation }, 'recovered the online state');
  return { restored, replayed: messages, generation };
}

/**
 * The generation the store is online under, after recovering it if it lost
 * its state (no generation): one instance recovers, holding the lock, while
 * the others wait for the generation it sets.
 */
export async function ensureOnline(o: RecoveryOptions & { readonly signal?: AbortSignal }): Promise<string> {
  for (;;) {
    const current = await o.store.generation();
    if (current !== undefined) return current;
    if (await o.store.lockRecovery(RECOVERY_LOCK_MS)) {
      try {
        // Another instance may have finished between the read and the lock.
        const again = await o.store.generation();
        if (again !== undefined) return again;
        o.logger.warn('the online state is empty or was lost: recovering from MongoDB and Kafka');
        return (await recover(o, { force: true })).generation;
      } finally {
        await o.store.unlockRecovery();
      }
    }
    o.signal?.throwIfAborted();
    await sleep(250);
  }
}
