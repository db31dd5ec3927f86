/**
 * Debezium change events of the legacy `user_activity` table, as Kafka
 * Connect writes them to the CDC topic, with or without the `schema`/`payload`
 * wrapper. Only the columns the service maps to an activity event are
 * validated; ingest/decode.ts turns a row into one.
 */
import { z } from 'zod';
import { id } from './activity-event.js';

export const DebeziumRowSchema = z.object({
  id: id,
  user_id: id,
  activity_type: z.string().min(1),
  product_id: id.nullish(),
  activity_timestamp: z.union([z.number(), z.string()]),
});

// `before` is never read, so it is not validated: under REPLICA IDENTITY DEFAULT
// a delete's `before` holds only the key and an update's is null.
export const DebeziumEnvelopeSchema = z.object({
  op: z.enum(['c', 'r', 'u', 'd', 't', 'm']),
  after: z.unknown().nullish(),
});

/** Ops that record no activity (a delete, a truncate, a logical decoding message), with the skip reason. */
export const SKIPPED_OPS: Readonly<Record<string, string | undefined>> = { d: 'delete', t: 'truncate', m: 'message' };

export type DebeziumRow = z.infer<typeof DebeziumRowSchema>;
export type DebeziumEnvelope = z.infer<typeof DebeziumEnvelopeSchema>;
