/**
 * A retry record: a message the processor could not apply yet, resent to the
 * retry topic as it came, with headers that carry its attempt count, when it
 * may be tried next, and where it first came from (so its dedupe arrival and
 * its dead letter, if it comes to that, name the original). Pure, no I/O.
 */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

export interface Origin {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

export const RETRY_HEADERS = {
  attempt: 'x-retry-attempt',
  notBefore: 'x-retry-not-before',
  topic: 'x-original-topic',
  partition: 'x-original-partition',
  offset: 'x-original-offset',
  timestamp: 'x-original-timestamp',
  error: 'x-last-error',
} as const;

export function header(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}

/** Where a message first came from: itself, or what its retry headers say. */
export function originOf(o: Origin): { topic: string; partition: number; offset: string } {
  const h = o.message.headers;
  return {
    topic: header(h, RETRY_HEADERS.topic) ?? o.topic,
    partition: Number(header(h, RETRY_HEADERS.partition) ?? o.partition),
    offset: header(h, RETRY_HEADERS.offset) ?? o.message.offset,
  };
}

/**
 * When a message arrived, as the dedupe counts arrival: its first record's
 * timestamp (a retried message keeps its original's), never after `now`, so a
 * producer's fast clock cannot make ids be forgotten early.
 */
export function arrivalOf(m: KafkaMessage, now: number): number {
  const at = Number(header(m.headers, RETRY_HEADERS.timestamp) ?? m.timestamp);
  return Number.isFinite(at) ? Math.min(at, now) : now;
}

export const attemptOf = (m: KafkaMessage): number => Number(header(m.headers, RETRY_HEADERS.attempt) ?? 0);
export const notBeforeOf = (m: KafkaMessage): number => Number(header(m.headers, RETRY_HEADERS.notBefore) ?? 0);

export function retryRecord(o: Origin, error: Error, notBefore: number): Message {
  const origin = originOf(o);
  return {
    key: o.message.key,
    value: o.message.value,
    headers: {
      [RETRY_HEADERS.attempt]: String(attemptOf(o.message) + 1),
      [RETRY_HEADERS.notBefore]: String(notBefore),
      [RETRY_HEADERS.topic]: origin.topic,
      [RETRY_HEADERS.partition]: String(origin.partition),
      [RETRY_HEADERS.offset]: origin.offset,
      [RETRY_HEADERS.timestamp]: header(o.message.headers, RETRY_HEADERS.timestamp) ?? o.message.timestamp,
      [RETRY_HEADERS.error]: error.message.slice(0, 500),
    },
  };
}
