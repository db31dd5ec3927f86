/** Counts what the sync does into its Prometheus metrics, and logs its failures and breaker changes. */
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { UserStateStore } from '../stores/user-state.js';
import type { Sync } from './sync.js';

const BREAKER_GAUGE = { closed: 0, 'half-open': 1, open: 2 } as const;

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
  sync.on('pass', (p) => {
    metrics.sync.written.inc({ outcome: 'written' }, p.written);
    metrics.sync.written.inc({ outcome: 'stale' }, p.stale);
    metrics.sync.written.inc({ outcome: 'failed' }, p.failed);
    metrics.sync.written.inc({ outcome: 'rewritten' }, p.rewritten);
    metrics.degraded.parked.inc(p.parked);
    observeBacklog().catch((err: unknown) => log.warn({ err }, 'could not read the sync backlog'));
  });
}
