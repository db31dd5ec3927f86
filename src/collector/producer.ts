/**
 * The collector's Kafka producer: idempotent, acks from every in-sync
 * replica, one request in flight (so a retried batch cannot overtake the
 * next). `send` resolves only once the broker acknowledged, or rejects with
 * a DependencyError past the deadline: the caller answers 202 or 503 on that
 * alone. A send that outlives its deadline may still land; the sender then
 * retries with the same eventIds and the processor de-duplicates them.
 */
import type { Kafka, Producer } from 'kafkajs';
import { DependencyError } from '../errors.js';
import type { ActivityEvent } from '../features/activity.js';

export interface EventProducer {
  connect(): Promise<void>;
  /** Whether the last connect or send succeeded (for readiness). */
  readonly healthy: boolean;
  send(events: readonly ActivityEvent[], stamp: { receivedAt: number; app: string }, deadlineMs: number): Promise<void>;
  close(): Promise<void>;
}

export function createEventProducer(kafka: Kafka, topic: string): EventProducer {
  const make = (): Producer => kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  let producer = make();
  let healthy = false;
  /** A replacement in progress after a failure; sends wait for it. */
  let renewing: Promise<void> | undefined;
  let failed = false;

  function renew(): Promise<void> {
    renewing ??= (async () => {
      const old = producer;
      old.disconnect().catch(() => undefined);
      const fresh = make();
      await fresh.connect();
      producer = fresh;
      failed = false;
    })().finally(() => (renewing = undefined));
    return renewing;
  }

  return {
    get healthy() {
      return healthy;
    },
    async connect() {
      await producer.connect();
      healthy = true;
    },
    async send(events, { receivedAt, app }, deadlineMs) {
      const headers = { 'received-at': String(receivedAt), 'app-id': app };
      const sent = (async () => {
        if (failed) await renew();
        await producer.send({
          topic,
          acks: -1,
          timeout: deadlineMs,
          messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e), headers })),
        });
      })();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DependencyError('kafka', new Error(`no acknowledgement within ${deadlineMs} ms`))), deadlineMs);
      });
      try {
        await Promise.race([sent, late]);
        healthy = true;
      } catch (error) {
        healthy = false;
        failed = true;
        // A send that lost the race still settles later; its outcome is the sender's retry to learn.
        sent.catch(() => undefined);
        throw error instanceof DependencyError ? error : new DependencyError('kafka', error);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => producer.disconnect(),
  };
}
