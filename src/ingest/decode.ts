/**
 * Decoding of what arrives on Kafka, validated with zod:
 *  - activity events (JSON, see the contract in the README);
 *  - Debezium change events of the legacy `user_activity` table, with or
 *    without the `schema`/`payload` wrapper: `c`, `r` and `u` are events
 *    (eventId = the row id, so a snapshot read or an update of a row already
 *    seen is a duplicate); `d`, `t`, `m` and tombstones are skipped whatever
 *    their `before`/`after` hold, and an unknown `op` is an error;
 *  - static profile events.
 * Anything else throws a DecodeError, which names the field at fault.
 */
import type { z } from 'zod';
import { ActivityEventSchema as ActivitySchema, fieldErrorsOf, instant } from '../contracts/activity-event.js';
import { DebeziumEnvelopeSchema, DebeziumRowSchema, SKIPPED_OPS } from '../contracts/cdc-change-event.js';
import { ProfileEventSchema } from '../contracts/profile-event.js';
import { ACTIVITY_TYPES, ITEM_TYPES, type ActivityEvent, type ActivityType } from '../features/activity.js';
import type { ProfileUpdate } from '../features/apply.js';
import { DecodeError } from '../errors.js';

export type Decoded<T> = { readonly kind: 'event'; readonly value: T } | { readonly kind: 'skip'; readonly reason: string };

function parseJson(raw: Buffer | null): unknown {
  if (raw === null) return null;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new DecodeError(`not JSON: ${(error as Error).message}`);
  }
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = fieldErrorsOf(parsed.error).map((e) => `${e.path}: ${e.message}`).join('; ');
  throw new DecodeError(`invalid ${what}: ${issues}`);
}

/** Debezium time columns: epoch ms, µs or ns by magnitude, or ISO-8601 text. */
export function debeziumInstant(v: number | string): number {
  if (typeof v === 'string') return check(instant, v, 'activity_timestamp');
  if (v >= 1e17) return Math.floor(v / 1e6);
  if (v >= 1e14) return Math.floor(v / 1e3);
  return v;
}

const TYPES: ReadonlySet<string> = new Set(ACTIVITY_TYPES);
const KNOWN_FIELDS: ReadonlySet<string> = new Set(['eventId', 'userId', 'type', 'itemId', 'category', 'occurredAt', 'source', 'props']);
const text = (v: unknown, max: number, min = 1): v is string => typeof v === 'string' && v.length >= min && v.length <= max;

/**
 * The usual activity event (text ids, an epoch-ms time, no props and no
 * other fields) checked in one look, with the result the schema gives it;
 * anything else is undefined, for the schema to decide and explain.
 * Validating every event with zod costs more than parsing it.
 */
function plainActivity(json: Record<string, unknown>): ActivityEvent | undefined {
  for (const key in json) if (!KNOWN_FIELDS.has(key)) return undefined;
  const { eventId, userId, type, itemId, category, occurredAt, source } = json;
  if (!text(eventId, 256) || !text(userId, 256) || typeof type !== 'string' || !TYPES.has(type)) return undefined;
  if (typeof occurredAt !== 'number' || !Number.isSafeInteger(occurredAt) || occurredAt < 0 || json.props !== undefined) return undefined;
  if ((itemId !== undefined && !text(itemId, 256)) || (category !== undefined && !text(category, 128)) || (source !== undefined && !text(source, 128, 0))) return undefined;
  if (itemId === undefined && ITEM_TYPES.has(type as ActivityType)) return undefined;
  // The schema's field order, absent ones left out, as it builds its result.
  const event: Record<string, unknown> = { eventId, userId, type };
  if (itemId !== undefined) event.itemId = itemId;
  if (category !== undefined) event.category = category;
  event.occurredAt = occurredAt;
  if (source !== undefined) event.source = source;
  return event as unknown as ActivityEvent;
}

const isEnvelope = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && ('op' in v || ('payload' in v && 'schema' in v));

/**
 * Decodes one message of the activity or CDC topic. `typeMap` maps legacy
 * activity types (e.g. VIEW_PRODUCT) to this service's types.
 */
export function decodeActivity(raw: Buffer | null, typeMap: Readonly<Record<string, ActivityType>>): Decoded<ActivityEvent> {
  const json = parseJson(raw);
  if (json === null) return { kind: 'skip', reason: 'tombstone' };
  if (!isEnvelope(json)) return { kind: 'event', value: plainActivity(json as Record<string, unknown>) ?? check(ActivitySchema, json, 'activity event') };

  const body = 'payload' in json && 'schema' in json ? json.payload : json;
  if (body === null) return { kind: 'skip', reason: 'tombstone' };
  const envelope = check(DebeziumEnvelopeSchema, body, 'Debezium envelope');
  const skipped = SKIPPED_OPS[envelope.op];
  if (skipped !== undefined) return { kind: 'skip', reason: skipped };
  const row = check(DebeziumRowSchema, envelope.after, 'Debezium row (after)');
  const type = typeMap[row.activity_type] ?? ((ACTIVITY_TYPES as readonly string[]).includes(row.activity_type) ? (row.activity_type as ActivityType) : undefined);
  if (type === undefined) throw new DecodeError(`invalid Debezium row (after): activity_type: unmapped type "${row.activity_type}"`);
  return {
    kind: 'event',
    value: check(
      ActivitySchema,
      { eventId: row.id, userId: row.user_id, type, itemId: row.product_id ?? undefined, occurredAt: debeziumInstant(row.activity_timestamp), source: 'cdc' },
      'Debezium row (after)',
    ),
  };
}

/** Decodes one message of the profile topic; the version is `version`, else `updatedAt` in ms. */
export function decodeProfile(raw: Buffer | null): Decoded<ProfileUpdate> {
  const json = parseJson(raw);
  if (json === null) return { kind: 'skip', reason: 'tombstone' };
  const p = check(ProfileEventSchema, json, 'profile event');
  return {
    kind: 'event',
    value: { userId: p.userId, profileVersion: p.version ?? p.updatedAt ?? 0, vip: p.vip, status: p.status ?? null },
  };
}
