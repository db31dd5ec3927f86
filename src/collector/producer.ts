/**
 * The collector's Kafka producer: idempotent, acks from every in-sync
 * replica, one request in flight (so a retried batch cannot overtake the
 * next). `send` resolves only once the broker acknowledged, or rejects with
 * a DependencyError past the deadline: the caller answers 202 or 503 on that
 * alone. A send that outlives its deadline may still land; the sender then
 * retries with the same eventIds and the processor de-duplicates them.
 *
 * Requests that arrive while a produce is in flight wait for it and then go
 * out together, in one produce (kafkajs batches nothing across calls): with
 * one request in flight, sending each on its own would queue them one round
 * trip apart.
 * After a failed send the producer is replaced (ingest/renewing-producer.ts),
 * or a 202 could be given for events the broker dropped as duplicates.
 */
import type { Kafka, Message } from 'kafkajs';
import { DependencyError } from '../errors.js';
import type { ActivityEvent } from '../features/activity.js';
import { createRenewingProducer } from '../ingest/renewing-producer.js';

export interface EventProducer {
  connect(): Promise<void>;
  /** Resolves once Kafka acknowledged `events`; rejects with a DependencyError past `deadlineMs`. */
  send(events: readonly ActivityEvent[], stamp: { receivedAt: number; app: string }, deadlineMs: number): Promise<void>;
  close(): Promise<void>;
}

/** What one produce carries at most; more waiting requests go in the next. kafkajs groups a send's
 * messages by partition in time quadratic in their number, so past a few hundred, two sends are cheaper. */
const MAX_PRODUCE_BYTES = 512 * 1024;
const MAX_PRODUCE_MESSAGES = 500;

interface Waiting {
  readonly messages: Message[];
  readonly bytes: number;
  taken: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

export function createEventProducer(kafka: Kafka, topic: string): EventProducer {
  const producer = createRenewingProducer(kafka, { allowAutoTopicCreation: false });
  let queue: Waiting[] = [];
  let flushing = false;

  /** The next produce's share of the queue: in arrival order, within both bounds (at least one request). */
  function nextGroup(): Waiting[] {
    let bytes = 0;
    let messages = 0;
    let n = 0;
    const fits = (w: Waiting) => bytes + w.bytes <= MAX_PRODUCE_BYTES && messages + w.messages.length <= MAX_PRODUCE_MESSAGES;
    while (n < queue.length && (n === 0 || fits(queue[n]!))) {
      bytes += queue[n]!.bytes;
      messages += queue[n++]!.messages.length;
    }
    const group = queue.slice(0, n);
    queue = queue.slice(n);
    for (const w of group) w.taken = true;
    return group;
  }

  async function flush(timeoutMs: number): Promise<void> {
    flushing = true;
    try {
      while (queue.length > 0) {
        const group = nextGroup();
        try {
          await producer.send({ topic, acks: -1, timeout: timeoutMs, messages: group.flatMap((w) => w.messages) });
          for (const w of group) w.resolve();
        } catch (error) {
          for (const w of group) w.reject(error);
        }
      }
    } finally {
      flushing = false;
    }
  }

  return {
    connect: () => producer.connect(),
    send(events, { receivedAt, app }, deadlineMs) {
      const headers = { 'received-at': String(receivedAt), 'app-id': app };
      const messages = events.map((e) => ({ key: e.userId, value: JSON.stringify(e), headers }));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          // Not taken yet: it never leaves. Taken: it may still land, and the sender's retry is a duplicate.
          if (!waiting.taken) queue = queue.filter((w) => w !== waiting);
          reject(new DependencyError('kafka', new Error(`no acknowledgement within ${deadlineMs} ms`)));
        }, deadlineMs);
        const waiting: Waiting = {
          messages,
          bytes: messages.reduce((n, m) => n + m.value.length, 0),
          taken: false,
          resolve: () => (clearTimeout(timer), resolve()),
          reject: (error) => (clearTimeout(timer), reject(error instanceof DependencyError ? error : new DependencyError('kafka', error))),
        };
        queue.push(waiting);
        if (!flushing) void flush(deadlineMs);
      });
    },
    close: () => producer.disconnect(),
  };
}
