/**
 * Rebuilds a lost Redis without waiting for every user: Kafka is replayed
 * from the offsets the last checkpoint covers up to the offsets the
 * processor's groups have committed, through the restoring store
 * (stores/restoring-store.ts), so each replayed event's user is restored from
 * MongoDB first; then the store is online. Every other user stays in MongoDB
 * until a read brings it back (the read-through) or its next event does (the
 * processor's own restoring store), exactly as an idle user that left. So the
 * time to online grows with what came after the checkpoint, not with the
 * users MongoDB holds. The live groups then go on where they stood and
 * nothing is done twice (a first start over a topic with history replays
 * nothing: no offsets are committed yet, and the live group reads it once).
 * Snapshots carry their dedupe memory (seen ids and offset marks), so an
 * event both in a snapshot and in the replay counts once.
 *
 * After a loss (`force`) Redis holds only what batches wrote that were never
 * committed (every processor checks the generation before it commits): those
 * users, found with a SCAN of the nearly empty Redis, are put back to their
 * durable copy, or dropped where MongoDB has none; their batches are
 * delivered again and counted once.
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
import { createRestoringStore } from '../stores/restoring-store.js';

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

export async function recover(o: RecoveryOptions, { force }: { force: boolean }): Promise<{ reset: number; replayed: number; generation: string }> {
  const started = Date.now();
  // A snapshot restored is durable: it may leave again once idle (REDIS_IDLE_TTL).
  const idleTtlMs = o.config.redis.idleTtlMs;
  let reset = 0;
  if (force) {
    for await (const ids of o.store.scanUsers(500)) {
      const durable = await o.profiles.findMany(ids);
      const found = ids.flatMap((id, i) => (durable[i] ? [{ id, snapshot: durable[i].snapshot }] : []));
      await Promise.all(found.map((p) => o.store.restore(p.id, p.snapshot, { force: true, idleTtlMs })));
      await o.store.drop(ids.filter((_, i) => !durable[i]));
      reset += ids.length;
    }
  }
  const from = await o.profiles.loadCheckpoint();
  const to = await committedOffsets(o.kafka, processorGroups(o.config.processor.groupId, o.config.kafka.topics));
  const store = createRestoringStore(o.store, o.profiles, { idleTtlMs });
  const { messages } = await replay({ kafka: o.kafka, store, ...(o.itemGraph ? { itemGraph: o.itemGraph } : {}), config: o.config, logger: o.logger, from, to });
  const generation = newGeneration();
  await o.store.markOnline(generation);
  o.logger.info({ reset, replayed: messages, from, generation, durationMs: Date.now() - started }, 'recovered the online state');
  return { reset, replayed: messages, generation };
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
