/**
 * src/contracts: every message format that crosses a process boundary, each
 * with the zod schema that validates it and the type derived from it:
 * activity, profile and Debezium events, feature and item graph updates,
 * retry records and dead letters, offset checkpoints, snapshots and parked
 * users. It may import only features/ (and zod, kafkajs types).
 *
 * The activity event, as producers send it to `user-activity` (JSON, key =
 * userId): one schema, imported by the collector that accepts it over HTTP
 * and by the processor that decodes it from Kafka, so both refuse the same
 * events with the same field errors.
 */
import { z } from 'zod';
import { ACTIVITY_TYPES, ITEM_TYPES, type ActivityEvent } from '../features/activity.js';

const MAX_PROPS_BYTES = 4096;

/** ISO-8601 text or epoch milliseconds → epoch ms. */
export const instant = z.union([
  z.number().int().nonnegative(),
  z.string().transform((s, ctx) => {
    const ms = Date.parse(s);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'not an ISO-8601 time' });
      return z.NEVER;
    }
    return ms;
  }),
]);

/** An id: non-empty text up to 256 characters, or an integer (made text). */
export const id = z.union([z.string().min(1).max(256), z.number().int().transform(String)]);

export const ActivityEventSchema = z
  .object({
    eventId: id,
    userId: id,
    type: z.enum(ACTIVITY_TYPES),
    itemId: id.optional(),
    category: z.string().min(1).max(128).optional(),
    occurredAt: instant,
    source: z.string().max(128).optional(),
    props: z
      .record(z.string(), z.unknown())
      .refine((p) => JSON.stringify(p).length <= MAX_PROPS_BYTES, `props larger than ${MAX_PROPS_BYTES} bytes`)
      .optional(),
  })
  .refine((e) => !ITEM_TYPES.has(e.type) || e.itemId !== undefined, { message: 'itemId is required for item events', path: ['itemId'] });

/** One thing wrong with an event: where (a dotted path, `(root)` for the whole) and what. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export const fieldErrorsOf = (error: z.ZodError): FieldError[] =>
  error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly FieldError[] };

/** Validates one activity event (already parsed JSON). */
export function checkActivityEvent(value: unknown): Checked<ActivityEvent> {
  const parsed = ActivityEventSchema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, errors: fieldErrorsOf(parsed.error) };
}
