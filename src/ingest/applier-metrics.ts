/** Counts what every batch of an applier did into the processor's Prometheus metrics. */
import type { Metrics } from '../observability/metrics.js';
import type { BatchApplier } from './batch-applier.js';

export function countApplier(applier: BatchApplier, metrics: Metrics['processor']): void {
  applier.on('batch', (b) => {
    const count = (outcome: string, n: number, reason = '') => metrics.events.inc({ topic: b.topic, outcome, reason }, n);
    count('applied', b.applied);
    count('stale', b.stale);
    count('duplicate', b.resent, 'resent');
    count('duplicate', b.redelivered, 'redelivered');
    count('expired', b.expired);
    count('future', b.future);
    count('skipped', b.skipped);
    count('dead_letter', b.deadLetters);
    count('retried', b.retried);
    metrics.batchDuration.observe(b.durationMs / 1000);
  });
  applier.on('storeUnavailable', () => metrics.storeUnavailable.inc());
  applier.on('graph', (g) => {
    metrics.graphBatches.inc({ outcome: 'ok' });
    metrics.graphItems.inc(g.items);
    metrics.graphDuration.observe(g.durationMs / 1000);
  });
  applier.on('graphFailed', () => metrics.graphBatches.inc({ outcome: 'failed' }));
}
