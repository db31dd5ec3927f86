/**
 * The sync role: copies changed users from Redis to MongoDB.
 *
 * Each pass claims dirty users with a lease (any number of instances can run:
 * a dead one's claims come back when its lease ends), exports their snapshots,
 * writes them with version-checked upserts behind a circuit breaker, and only
 * then ends the claims. A pass runs on an interval and once more at shutdown.
 *
 * Offsets: at the start of a pass the committed offsets of the processor's
 * groups are read. Every event below them is already in Redis, and its user is
 * dirty (or claimed) since no later than that moment. Once the oldest dirty
 * time is past that moment, every such user has been written, so the offsets
 * are recorded in MongoDB: recovering from them loses nothing.
 */
import { EventEmitter } from 'node:events';
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import type { PartitionOffsets, ProfileStore } from '../stores/profile.js';
import type { UserStateStore } from '../stores/user-state.js';

export interface SyncOptions {
  readonly store: UserStateStore;
  readonly profiles: ProfileStore;
  /** Committed offsets of the processor's groups; omitted where there is no Kafka. */
  readonly offsets?: () => Promise<PartitionOffsets>;
  readonly batchSize: number;
  readonly leaseMs: number;
  readonly intervalMs: number;
  /** Consecutive failed writes that open the breaker, and how long it stays open before one probe. */
  readonly breaker?: { readonly failures: number; readonly halfOpenAfterMs: number };
  readonly clock?: () => number;
}

export interface SyncEvents {
  pass: [{ written: number; stale: number; failed: number; durationMs: number }];
  checkpoint: [PartitionOffsets];
  error: [unknown];
  breaker: ['open' | 'half-open' | 'closed'];
}

export interface Sync extends EventEmitter<SyncEvents> {
  /** One pass: claims and writes until nothing is dirty or the store of profiles fails. */
  runOnce(): Promise<void>;
  start(): void;
  /** Stops the interval and runs a last pass. */
  stop(): Promise<void>;
  readonly breakerState: 'open' | 'half-open' | 'closed';
}

const STATE_NAMES = { [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half-open', [CircuitState.Isolated]: 'open' } as const;

export function createSync(o: SyncOptions): Sync {
  const clock = o.clock ?? Date.now;
  const emitter = new EventEmitter<SyncEvents>() as Sync;
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: o.breaker?.halfOpenAfterMs ?? 5_000,
    breaker: new ConsecutiveBreaker(o.breaker?.failures ?? 5),
  });
  breaker.onStateChange((state) => emitter.emit('breaker', STATE_NAMES[state]));
  const pending: { at: number; offsets: PartitionOffsets }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function pass(): Promise<void> {
    const started = clock();
    if (o.offsets) pending.push({ at: clock(), offsets: await o.offsets() });
    let written = 0;
    let stale = 0;
    let failed = 0;
    for (;;) {
      const ids = await o.store.claimDirty(o.batchSize, o.leaseMs, clock());
      if (ids.length === 0) break;
      const snapshots = await o.store.exportMany(ids);
      const done: string[] = [];
      await Promise.all(
        ids.map(async (userId, i) => {
          const snapshot = snapshots[i];
          if (!snapshot) return done.push(userId);
          try {
            const outcome = await breaker.execute(() => o.profiles.upsertIfNewer({ userId, version: snapshot.state.version, snapshot, updatedAt: clock() }));
            if (outcome === 'written') written++;
            else stale++;
            done.push(userId);
          } catch (error) {
            failed++;
            if (!(error instanceof BrokenCircuitError)) emitter.emit('error', error);
          }
        }),
      );
      await o.store.completeClaims(done);
      // Claims not completed come back when their lease ends; do not spin on a failing store.
      if (failed > 0) break;
    }
    await checkpoint();
    emitter.emit('pass', { written, stale, failed, durationMs: clock() - started });
  }

  /** Records the newest offsets that every write since has covered. */
  async function checkpoint(): Promise<void> {
    if (pending.length === 0) return;
    const { oldestSince } = await o.store.dirtyBacklog();
    let covered: PartitionOffsets | undefined;
    while (pending.length > 0 && (oldestSince === undefined || pending[0]!.at < oldestSince)) covered = pending.shift()!.offsets;
    if (!covered) return;
    await breaker.execute(() => o.profiles.saveCheckpoint(covered));
    emitter.emit('checkpoint', covered);
  }

  emitter.runOnce = () => {
    // One pass at a time in a process; across processes, claims keep passes apart.
    running ??= pass().finally(() => (running = undefined));
    return running;
  };
  emitter.start = () => {
    const tick = () => {
      emitter
        .runOnce()
        .catch((error: unknown) => emitter.emit('error', error))
        .finally(() => {
          if (timer) timer = setTimeout(tick, o.intervalMs);
        });
    };
    timer = setTimeout(tick, o.intervalMs);
  };
  emitter.stop = async () => {
    clearTimeout(timer);
    timer = undefined;
    await running?.catch(() => undefined);
    await emitter.runOnce().catch((error: unknown) => emitter.emit('error', error));
  };
  Object.defineProperty(emitter, 'breakerState', { get: () => STATE_NAMES[breaker.state] });
  return emitter;
}
