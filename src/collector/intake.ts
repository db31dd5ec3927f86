/**
 * What the collector makes of one request's body, without I/O: the events
 * in it (a JSON object, a JSON array, or NDJSON lines), each checked with the
 * activity event contract and the processor's time bounds. The valid ones go
 * on to Kafka; the others are listed by index with their field errors, so a
 * sender learns at once what the processor would have dead-lettered.
 */
import { checkActivityEvent, type FieldError } from '../contracts/activity-event.js';
import type { ActivityEvent } from '../features/activity.js';
import { admission } from '../features/apply.js';
import type { FeatureParams } from '../features/params.js';

export interface Rejected {
  /** Position in the batch (0 for a single object). */
  readonly index: number;
  readonly errors: readonly FieldError[];
}

export interface Intake {
  readonly accepted: readonly ActivityEvent[];
  readonly rejected: readonly Rejected[];
}

/** A body the collector cannot take at all, with the status to answer. */
export class BodyError extends Error {
  override readonly name = 'BodyError';
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export type BodyFormat = 'json' | 'ndjson';

/** The format of a content type, or undefined when the collector does not take it. */
export function formatOf(contentType: string | undefined): BodyFormat | undefined {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  // text/plain is what navigator.sendBeacon sends for a string: its body is JSON.
  if (type === 'application/json' || type === 'text/plain') return 'json';
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') return 'ndjson';
  return undefined;
}

const notJson = (error: unknown): FieldError => ({ path: '(root)', message: `not JSON: ${(error as Error).message}` });

/** The items of a body: parsed JSON values, or the reason one is not JSON. */
export function itemsOf(body: string, format: BodyFormat, maxBatch: number): ({ ok: true; value: unknown } | { ok: false; error: FieldError })[] {
  let items: ({ ok: true; value: unknown } | { ok: false; error: FieldError })[];
  if (format === 'json') {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      throw new BodyError(400, notJson(error).message);
    }
    items = (Array.isArray(json) ? (json as unknown[]) : [json]).map((value) => ({ ok: true as const, value }));
  } else {
    items = body
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        try {
          return { ok: true as const, value: JSON.parse(line) as unknown };
        } catch (error) {
          return { ok: false as const, error: notJson(error) };
        }
      });
  }
  if (items.length === 0) throw new BodyError(400, 'no events in the body');
  if (items.length > maxBatch) throw new BodyError(413, `at most ${maxBatch} events per request, got ${items.length}`);
  return items;
}

/** Checks every item; `receivedAt` bounds `occurredAt` as the processor does. */
export function intake(body: string, format: BodyFormat, receivedAt: number, p: Pick<FeatureParams, 'maxEventAgeMs' | 'maxClockSkewMs'> & { maxBatch: number }): Intake {
  const accepted: ActivityEvent[] = [];
  const rejected: Rejected[] = [];
  itemsOf(body, format, p.maxBatch).forEach((item, index) => {
    if (!item.ok) return void rejected.push({ index, errors: [item.error] });
    const checked = checkActivityEvent(item.value);
    if (!checked.ok) return void rejected.push({ index, errors: checked.errors });
    const when = admission(checked.value, receivedAt, p);
    if (when === 'future') return void rejected.push({ index, errors: [{ path: 'occurredAt', message: `more than ${p.maxClockSkewMs} ms after its arrival` }] });
    if (when === 'expired') return void rejected.push({ index, errors: [{ path: 'occurredAt', message: `more than ${Math.round(p.maxEventAgeMs / 86_400_000)} days before its arrival` }] });
    accepted.push(checked.value);
  });
  return { accepted, rejected };
}
