/** Counts what the sync does into its Prometheus metrics, and logs its failures and breaker changes. */
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { UserStateStore } from '../stores/user-state.js';
import type { CheckpointHold, Sync } from './sync.js';

const BREAKER_GAUGE = { closed: 0, 'half-open': 1, open: 2 } as const;
const HOLDS: readonly CheckpointHold[] = ['uncertain-write', 'unsynced-users'];
/** A hold longer than this is logged (once per such span): a recovery would then replay that much more. */
const HELD_WARN_MS = 60_000;

export function observeSync(sync: Sync, store: Pick<UserStateStore, 'dirtyBacklog'>, metrics: Pick<Metrics, 'sync' | 'degraded'>, log: Logger): void {
  sync.on('error', (err) => log.warn({ err }, 'sync pass failed; its claims return after their lease'));
  sync.on('breaker', (state) => {
    metrics.sync.breaker.set(BREAKER_GAUGE[state]);
    log.warn({ state }, 'sync breaker');
  });
  const observeBacklog = async () => {
    const backlog = await store.dirtyBacklog();
    metrics.sync.backlog.set({ state: 'dirty' }, backlog.dirty);
    metrics.sync.backlog.set({ state: 'claimed' }, backlog.claimed);
    metrics.sync.lagSeconds.set(backlog.oldestSince === undefined ? 0 : (Date.now() - backlog.oldestSince) / 1000);
  };
  // Ages are kept as read times and published at every pass, so they grow while nothing is recorded.
  const recordedAt = new Map<string, number>();
  let held: { reason: CheckpointHold; since: number } | undefined;
  let warnedAt = 0;
  metrics.sync.checkpointAge.reset();
  sync.on('checkpoint', (offsets, { readAt }) => {
    for (const partition of Object.keys(offsets)) recordedAt.set(partition, readAt);
    if (held && Date.now() - held.since >= HELD_WARN_MS) log.info({ waitedMs: Date.now() - held.since }, 'sync checkpoint recorded again');
    held = undefined;
    publishAges();
  });
  sync.on('held', (h) => {
    held = h;
    const waited = Date.now() - h.since;
    if (waited >= HELD_WARN_MS && Date.now() - warnedAt >= HELD_WARN_MS) {
      warnedAt = Date.now();
      log.warn({ reason: h.reason, since: new Date(h.since).toISOString(), waitedMs: waited }, 'sync checkpoint held back: a recovery would replay from the last one');
    }
    publishAges();
  });
  function publishAges(): void {
    const now = Date.now();
    for (const [partition, at] of recordedAt) metrics.sync.checkpointAge.set({ partition }, Math.max(0, now - at) / 1000);
    for (const reason of HOLDS) metrics.sync.checkpointHeld.set({ reason }, held?.reason === reason ? Math.max(0, now - held.since) / 1000 : 0);
  }
  sync.on('pass', (p) => {
    publishAges();
    metrics.sync.written.inc({ outcome: 'written' }, p.written);
    metrics.sync.written.inc({ outcome: 'stale' }, p.stale);
    metrics.sync.written.inc({ outcome: 'failed' }, p.failed);
    metrics.sync.written.inc({ outcome: 'rewritten' }, p.rewritten);
    metrics.degraded.parked.inc(p.parked);
    observeBacklog().catch((err: unknown) => log.warn({ err }, 'could not read the sync backlog'));
  });
}
