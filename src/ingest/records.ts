/**
 * The messages this service writes about messages it could not apply: a dead
 * letter carries the original bytes and everything needed to find out why; a
 * retry record carries the original with its attempt count and when it may
 * be tried next. Pure builders, no I/O.
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

/** The original value as text when it is UTF-8, else base64. */
function rawValue(value: Buffer | null): { encoding: 'utf8' | 'base64'; data: string | null } {
  if (value === null) return { encoding: 'utf8', data: null };
  const text = value.toString('utf8');
  return Buffer.from(text, 'utf8').equals(value) ? { encoding: 'utf8', data: text } : { encoding: 'base64', data: value.toString('base64') };
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
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

export function deadLetter(o: Origin, error: { code?: string; name?: string; message: string }, instance: string, now: number): Message {
  const origin = originOf(o);
  return {
    key: o.message.key,
    value: JSON.stringify({
      error: { code: error.code ?? error.name ?? 'ERROR', message: error.message },
      source: { ...origin, via: o.topic === origin.topic ? undefined : o.topic, key: o.message.key?.toString() ?? null, timestamp: o.message.timestamp },
      attempts: attemptOf(o.message),
      raw: rawValue(o.message.value),
      deadAt: new Date(now).toISOString(),
      instance,
    }),
    headers: { 'x-error-code': error.code ?? 'ERROR', [RETRY_HEADERS.topic]: origin.topic },
  };
}

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
