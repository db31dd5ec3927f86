/**
 * Consumes the retry topic in its own group. Each message waits until its
 * `x-retry-not-before` time (heartbeating meanwhile), then goes through the
 * same BatchApplier as fresh data; failing again, it returns to the retry
 * topic with a doubled delay, or, out of attempts, goes to the dead letters.
 * Features do not depend on arrival order, so a retried event applied after
 * newer ones gives the same state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { BatchApplier } from './batch-applier.js';
import { batchControl, commitResolved } from './kafka-batch.js';
import type { BatchControl } from './outcome-policy.js';
import { notBeforeOf } from '../contracts/retry-record.js';

export interface RetryWorkerOptions {
  readonly kafka: Kafka;
  readonly applier: BatchApplier;
  readonly topic: string;
  readonly groupId: string;
  readonly logger: Logger;
  readonly clock?: () => number;
}

export interface RetryWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createRetryWorker(o: RetryWorkerOptions): RetryWorker {
  const clock = o.clock ?? Date.now;
  const consumer = o.kafka.consumer({ groupId: o.groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
  /** Waits for `until`, in short slices so the group keeps its heartbeat and a stop is noticed. */
  async function waitUntil(until: number, control: BatchControl): Promise<boolean> {
    while (clock() < until) {
      if (!control.isActive()) return false;
      await control.heartbeat();
      await sleep(Math.min(500, until - clock()));
    }
    return true;
  }

  async function eachBatch(p: EachBatchPayload): Promise<void> {
    const control = batchControl(p);
    let rest = p.batch.messages;
    while (rest.length > 0) {
      if (!(await waitUntil(notBeforeOf(rest[0]!), control))) return;
      const now = clock();
      const dueCount = rest.findIndex((m) => notBeforeOf(m) > now);
      const due = dueCount === -1 ? rest : rest.slice(0, dueCount);
      const outcome = await o.applier.apply(p.batch.topic, p.batch.partition, due, control);
      if (outcome === 'abandoned') return;
      p.resolveOffset(due[due.length - 1]!.offset);
      await commitResolved(p);
      rest = rest.slice(due.length);
    }
  }

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
      consumer.on(consumer.events.CRASH, (e) => o.logger.error({ err: e.payload.error }, 'retry consumer crashed'));
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
    },
    stop: () => consumer.disconnect(),
  };
}
