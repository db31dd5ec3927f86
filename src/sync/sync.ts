/**
 * src/sync: Redis into MongoDB: the write-behind sync with its offset
 * checkpoints (sync.ts), its metrics, and parked users (parked.ts). It may
 * import ingest/, stores/, contracts/, features/ and the base modules.
 *
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
 * are recorded in MongoDB: recovering from them loses nothing. A pass claims
 * only as many rounds as it takes to write every user dirty at its start
 * (oldest first), then checkpoints: under steady traffic the dirty set is
 * never empty, and a pass that waited for it to empty would never end, nor
 * record anything. "That moment"
 * and the dirty times are read from one clock, the store's (Redis: TIME of
 * the node holding the dirty index); with this host's clock against the
 * processors', a skew larger than a pass would record offsets early.
 *
 * A write that failed without an answer (a timeout, a dropped connection)
 * may still be applied later by the server. On a server that applies one
 * document's update atomically that is harmless (its version filter misses);
 * FerretDB does not, so such a late write could replace a newer copy. Users
 * whose write failed that way stay "uncertain": once the breaker has been
 * closed for `settleMs`, their stored versions are compared with Redis,
 * rewritten if lower, and dropped only when found equal. No checkpoint is
 * recorded while any user is uncertain.
 *
 * Users written (or found as new in MongoDB) start their idle countdown in
 * Redis (`idleTtlMs`): untouched that long they leave it, and come back from
 * MongoDB when read or when their next event arrives (restoring-store.ts).
 *
 * One user whose write keeps failing must not hold every checkpoint back:
 * a user MongoDB refuses for good (an error that is not retriable), or whose
 * write failed `parkAfter` passes in a row while others' succeeded, is parked
 * (see parked.ts) and its claim given up, when a `park` is configured.
 *
 * Offsets read before Redis lost its state (its generation changed) prove
 * nothing: the users dirty then went with it. They are dropped, and while the
 * store has no generation (a recovery runs) the sync neither writes nor
 * records anything.
 */
import { EventEmitter } from 'node:events';
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { isRetriable } from '../errors.js';
import type { ProfileStore } from '../stores/profile.js';
import type { SyncedUser, UserStateStore } from '../stores/user-state.js';
import type { UserSnapshot } from '../contracts/user-snapshot.js';
import type { PartitionOffsets } from '../contracts/offset-checkpoint.js';

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
  /** How long after the breaker closes a late write is assumed to have landed (default 2 s). */
  readonly settleMs?: number;
  /** Keeps a user's snapshot durably elsewhere when MongoDB will not take it (parked.ts); without it, no user is parked. */
  readonly park?: (userId: string, snapshot: UserSnapshot, error: unknown) => Promise<void>;
  /** Failed passes in a row, while others' writes succeed, before a user is parked (default 5). */
  readonly parkAfter?: number;
  /** Starts the idle countdown (REDIS_IDLE_TTL) of each user once MongoDB holds its latest version; none when omitted. */
  readonly idleTtlMs?: number;
  readonly clock?: () => number;
}

/** Why no checkpoint could be recorded: a user whose write may still land, or users changed before the offsets were read and not yet written (by this instance or another). */
export type CheckpointHold = 'uncertain-write' | 'unsynced-users';

export interface SyncEvents {
  pass: [{ written: number; stale: number; failed: number; rewritten: number; parked: number; durationMs: number }];
  /** Offsets recorded, and when (by the store's clock) they were read: every event below them is in MongoDB. */
  checkpoint: [PartitionOffsets, { readonly readAt: number }];
  /** Offsets read at `since` (by the store's clock) wait for `reason`; emitted at every pass that records nothing. */
  held: [{ readonly reason: CheckpointHold; readonly since: number }];
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
  const settleMs = o.settleMs ?? 2_000;
  let closedAt = clock();
  breaker.onStateChange((state) => {
    if (state === CircuitState.Closed) closedAt = clock();
    emitter.emit('breaker', STATE_NAMES[state]);
  });
  const pending: { at: number; offsets: PartitionOffsets }[] = [];
  /** userId → when its last write failed without an answer. */
  const uncertain = new Map<string, number>();
  /** userId → passes in a row its write failed while others' succeeded. */
  const strikes = new Map<string, number>();
  const parkAfter = o.parkAfter ?? 5;
  let generation: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  /** A snapshot to MongoDB, version-checked, through the breaker. */
  const write = (userId: string, snapshot: UserSnapshot) =>
    breaker.execute(() => o.profiles.upsertIfNewer({ userId, version: snapshot.state.version, snapshot, updatedAt: clock() }));

  async function pass(): Promise<void> {
    const started = clock();
    const current = await o.store.generation();
    if (current !== generation) pending.length = 0;
    generation = current;
    // No generation: a recovery is rebuilding Redis; what it holds is not a state to make durable.
    if (current === undefined) return;
    // The moment by the clock that stamps dirty marks, then the offsets: never this host's clock against a processor's.
    if (o.offsets) pending.push({ at: await o.store.dirtyClock(), offsets: await o.offsets() });
    let written = 0;
    let stale = 0;
    let failed = 0;
    let parked = 0;
    // Everyone dirty at the start (and every claim that may come back from a dead instance) is claimed within
    // these rounds, oldest first; users dirtied later are the next pass's.
    const atStart = await o.store.dirtyBacklog();
    for (let rounds = Math.ceil((atStart.dirty + atStart.claimed) / o.batchSize); rounds > 0; rounds--) {
      const ids = await o.store.claimDirty(o.batchSize, o.leaseMs, clock());
      if (ids.length === 0) break;
      const snapshots = await o.store.exportMany(ids);
      const done: string[] = [];
      const durable: SyncedUser[] = [];
      const refused: { userId: string; snapshot: UserSnapshot; error: unknown }[] = [];
      let succeeded = 0;
      await Promise.all(
        ids.map(async (userId, i) => {
          const snapshot = snapshots[i];
          if (!snapshot) return done.push(userId);
          try {
            const outcome = await write(userId, snapshot);
            if (outcome === 'written') written++;
            else stale++;
            succeeded++;
            strikes.delete(userId);
            done.push(userId);
            durable.push({ userId, version: snapshot.state.version });
          } catch (error) {
            failed++;
            // Refused by the open breaker: never sent. Anything else may still land later.
            if (!(error instanceof BrokenCircuitError)) {
              uncertain.set(userId, clock());
              refused.push({ userId, snapshot, error });
              emitter.emit('error', error);
            }
          }
        }),
      );
      const gone = await parkRefused(refused, succeeded > 0);
      parked += gone.length;
      await o.store.completeClaims([...done, ...gone]);
      // Only what MongoDB holds may leave Redis (a parked user is not among them); a user changed since keeps no countdown.
      if (o.idleTtlMs !== undefined) await o.store.markSynced(durable, o.idleTtlMs);
      // Claims not completed come back when their lease ends; do not spin on a failing store.
      if (failed > 0) break;
    }
    const rewritten = failed === 0 ? await settleUncertain() : 0;
    await checkpoint();
    emitter.emit('pass', { written, stale, failed, rewritten, parked, durationMs: clock() - started });
  }

  /**
   * Parks the users whose write failed for good, or `parkAfter` passes in a
   * row while others' succeeded (`othersWent`: then the fault is theirs, not
   * MongoDB's); returns those parked, whose claims may end.
   */
  async function parkRefused(refused: readonly { userId: string; snapshot: UserSnapshot; error: unknown }[], othersWent: boolean): Promise<string[]> {
    const gone: string[] = [];
    for (const r of refused) {
      const n = (strikes.get(r.userId) ?? 0) + (othersWent ? 1 : 0);
      strikes.set(r.userId, n);
      if (!o.park || (isRetriable(r.error) && n < parkAfter)) continue;
      try {
        await o.park(r.userId, r.snapshot, r.error);
      } catch (error) {
        emitter.emit('error', error);
        continue;
      }
      strikes.delete(r.userId);
      uncertain.delete(r.userId);
      gone.push(r.userId);
    }
    return gone;
  }

  /** Rewrites uncertain users whose stored copy fell behind Redis; drops those found equal. */
  async function settleUncertain(): Promise<number> {
    if (breaker.state !== CircuitState.Closed || clock() - closedAt < settleMs) return 0;
    const ids = [...uncertain].filter(([, at]) => clock() - at >= settleMs).map(([id]) => id);
    if (ids.length === 0) return 0;
    const [online, durable] = await Promise.all([o.store.exportMany(ids), breaker.execute(() => o.profiles.findMany(ids))]);
    let rewritten = 0;
    await Promise.all(
      ids.map(async (userId, i) => {
        const snapshot = online[i];
        if (!snapshot || (durable[i]?.version ?? -1) >= snapshot.state.version) return uncertain.delete(userId);
        // Behind: write it again, and look once more after the next settle delay.
        await write(userId, snapshot);
        uncertain.set(userId, clock());
        rewritten++;
      }),
    );
    return rewritten;
  }

  /** Records the newest offsets that every write since has covered. */
  async function checkpoint(): Promise<void> {
    if (pending.length === 0) return;
    if (uncertain.size > 0) return void emitter.emit('held', { reason: 'uncertain-write', since: pending[0]!.at });
    const { oldestSince } = await o.store.dirtyBacklog();
    // Read after the backlog: if the generation is still this pass's, the backlog came from the same Redis.
    if ((await o.store.generation()) !== generation) return void (pending.length = 0);
    let covered: { at: number; offsets: PartitionOffsets } | undefined;
    while (pending.length > 0 && (oldestSince === undefined || pending[0]!.at < oldestSince)) covered = pending.shift()!;
    if (!covered) return void emitter.emit('held', { reason: 'unsynced-users', since: pending[0]!.at });
    const { offsets, at } = covered;
    await breaker.execute(() => o.profiles.saveCheckpoint(offsets));
    emitter.emit('checkpoint', offsets, { readAt: at });
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
