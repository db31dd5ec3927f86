/**
 * A dead letter, on the dead-letter topic (key = the original's key, JSON
 * value): the original bytes and everything needed to find out why it could
 * not be applied, and to re-drive it once the cause is fixed. Pure, no I/O.
 */
import type { Message } from 'kafkajs';
import { z } from 'zod';
import { attemptOf, originOf, RETRY_HEADERS, type Origin } from './retry-record.js';

export const DeadLetterSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string() }),
    /** Where the message first came from; `via` names the retry topic it last came through. */
    source: z.object({
      topic: z.string(),
      partition: z.number().int().nonnegative(),
      offset: z.string(),
      via: z.string().optional(),
      key: z.string().nullable(),
      timestamp: z.string(),
    }),
    attempts: z.number().int().nonnegative(),
    /** The original value: text when it is UTF-8, else base64; null for a tombstone. */
    raw: z.object({ encoding: z.enum(['utf8', 'base64']), data: z.string().nullable() }),
    /** ISO-8601. */
    deadAt: z.string(),
    /** The process that gave up on it. */
    instance: z.string(),
  })
  .readonly();

export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** The original value as text when it is UTF-8, else base64. */
function rawValue(value: Buffer | null): { encoding: 'utf8' | 'base64'; data: string | null } {
  if (value === null) return { encoding: 'utf8', data: null };
  const text = value.toString('utf8');
  return Buffer.from(text, 'utf8').equals(value) ? { encoding: 'utf8', data: text } : { encoding: 'base64', data: value.toString('base64') };
}

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
    } satisfies DeadLetter),
    headers: { 'x-error-code': error.code ?? 'ERROR', [RETRY_HEADERS.topic]: origin.topic },
  };
}

