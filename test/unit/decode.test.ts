import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ActivityEventSchema } from '../../src/contracts/activity-event.js';
import { ACTIVITY_TYPES } from '../../src/features/activity.js';
import { loadConfig } from '../../src/config.js';
import { DecodeError } from '../../src/errors.js';
import { debeziumInstant, decodeActivity, decodeProfile } from '../../src/ingest/decode.js';

const typeMap = loadConfig({}, {}).processor.cdcTypeMap;
const fixture = (name: string) => readFileSync(new URL(`../fixtures/debezium/${name}.json`, import.meta.url));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const T = Date.UTC(2026, 10, 20, 12, 0, 0, 123);

describe('activity events', () => {
  it('decodes a JSON event with an ISO-8601 or epoch-ms time', () => {
    const base = { eventId: 'e1', userId: 'u1', type: 'PURCHASE', itemId: 'p1', category: 'books' };
    expect(decodeActivity(json({ ...base, occurredAt: '2026-11-20T12:00:00.123Z' }), typeMap)).toEqual({
      kind: 'event',
      value: { ...base, occurredAt: T },
    });
    expect(decodeActivity(json({ ...base, occurredAt: T, source: 'web', props: { a: 1 } }), typeMap)).toMatchObject({
      value: { occurredAt: T, source: 'web', props: { a: 1 } },
    });
    expect(decodeActivity(json({ eventId: 'e2', userId: 'u1', type: 'LOGIN', occurredAt: T }), typeMap).kind).toBe('event');
  });

  it.each(['LIKE', 'COMMENT', 'SHARE'])('accepts %s without itemId (it may be about a review or a page)', (type) => {
    expect(decodeActivity(json({ eventId: 'e3', userId: 'u1', type, occurredAt: T }), typeMap)).toEqual({
      kind: 'event',
      value: { eventId: 'e3', userId: 'u1', type, occurredAt: T },
    });
  });

  it.each(['VIEW', 'CLICK', 'ADD_TO_CART', 'PURCHASE'])('refuses %s without itemId, naming the field itemId', (type) => {
    expect(() => decodeActivity(json({ eventId: 'e4', userId: 'u1', type, occurredAt: T }), typeMap)).toThrow(
      new DecodeError('invalid activity event: itemId: itemId is required for item events'),
    );
  });

  it.each([
    ['not JSON', Buffer.from('{bad'), /not JSON/],
    ['a missing userId', json({ eventId: 'e', type: 'VIEW', itemId: 'i', occurredAt: T }), /userId/],
    ['an unknown type', json({ eventId: 'e', userId: 'u', type: 'DANCE', occurredAt: T }), /type/],
    ['an item event without itemId', json({ eventId: 'e', userId: 'u', type: 'VIEW', occurredAt: T }), /itemId is required/],
    ['a bad time', json({ eventId: 'e', userId: 'u', type: 'LOGIN', occurredAt: 'yesterday' }), /occurredAt/],
    ['oversized props', json({ eventId: 'e', userId: 'u', type: 'LOGIN', occurredAt: T, props: { x: 'y'.repeat(5000) } }), /props larger/],
  ])('refuses %s with a DecodeError naming the problem', (_what, raw, message) => {
    expect(() => decodeActivity(raw, typeMap)).toThrow(DecodeError);
    expect(() => decodeActivity(raw, typeMap)).toThrow(message);
  });
});

describe('Debezium envelopes of the legacy user_activity table', () => {
  const expected = { eventId: '1001', userId: 'u42', type: 'VIEW', itemId: 'p-7', occurredAt: Date.UTC(2026, 10, 20, 12, 0, 0, 123), source: 'cdc' };

  it.each(['insert-wrapped', 'insert-bare', 'snapshot-read-bare'])('%s is an event with eventId = row id', (name) => {
    expect(decodeActivity(fixture(name), typeMap)).toEqual({ kind: 'event', value: expected });
  });

  it('an update of the same row keeps the row id, so it is a duplicate of the insert', () => {
    expect(decodeActivity(fixture('update-wrapped'), typeMap)).toEqual({ kind: 'event', value: { ...expected, itemId: 'p-8' } });
  });

  it.each(['update-no-before-wrapped', 'update-no-before-bare'])('%s (REPLICA IDENTITY DEFAULT: before is null) is an event', (name) => {
    expect(decodeActivity(fixture(name), typeMap)).toEqual({ kind: 'event', value: { ...expected, itemId: 'p-8' } });
  });

  it.each(['snapshot-read-like-wrapped', 'snapshot-read-like-bare'])('%s: a LIKE with product_id null and a timestamptz is an event without itemId', (name) => {
    expect(decodeActivity(fixture(name), typeMap)).toEqual({
      kind: 'event',
      value: { eventId: '1005', userId: 'u42', type: 'LIKE', occurredAt: T, source: 'cdc' },
    });
  });

  it.each([
    ['delete-wrapped', 'delete'],
    ['delete-bare', 'delete'],
    ['delete-replica-default-wrapped', 'delete'],
    ['delete-replica-default-bare', 'delete'],
    ['delete-replica-full-wrapped', 'delete'],
    ['delete-replica-full-bare', 'delete'],
    ['truncate-wrapped', 'truncate'],
    ['truncate-bare', 'truncate'],
    ['message-wrapped', 'message'],
    ['message-bare', 'message'],
  ])('%s is skipped as a %s', (name, reason) => {
    expect(decodeActivity(fixture(name), typeMap)).toEqual({ kind: 'skip', reason });
  });

  it.each([
    ['d', 'delete'],
    ['t', 'truncate'],
    ['m', 'message'],
  ])('op %s is skipped whatever before and after hold', (op, reason) => {
    for (const images of [{}, { before: null, after: null }, { before: { id: null }, after: 'junk' }, { before: 42, after: { user_id: [] } }]) {
      expect(decodeActivity(json({ op, ...images }), typeMap)).toEqual({ kind: 'skip', reason });
      expect(decodeActivity(json({ schema: {}, payload: { op, ...images } }), typeMap)).toEqual({ kind: 'skip', reason });
    }
  });

  it('an unknown op is a DecodeError, wrapped or bare', () => {
    const after = { id: 1001, user_id: 'u42', activity_type: 'VIEW_PRODUCT', product_id: 'p-7', activity_timestamp: T * 1000 };
    const payload = { op: 'x', before: null, after };
    for (const raw of [json(payload), json({ schema: {}, payload })]) {
      expect(() => decodeActivity(raw, typeMap)).toThrow(DecodeError);
      expect(() => decodeActivity(raw, typeMap)).toThrow(/^invalid Debezium envelope: op: /);
    }
  });

  it('a CDC row of an item type without product_id is a DecodeError naming itemId', () => {
    const after = { id: 1006, user_id: 'u42', activity_type: 'CART_ADD', product_id: null, activity_timestamp: T * 1000 };
    expect(() => decodeActivity(json({ op: 'c', before: null, after }), typeMap)).toThrow(
      new DecodeError('invalid Debezium row (after): itemId: itemId is required for item events'),
    );
  });

  it('a tombstone (null value, or a null payload) is skipped', () => {
    expect(decodeActivity(null, typeMap)).toEqual({ kind: 'skip', reason: 'tombstone' });
    expect(decodeActivity(json({ schema: {}, payload: null }), typeMap)).toEqual({ kind: 'skip', reason: 'tombstone' });
  });

  it('maps legacy types through configuration and reads ISO timestamps', () => {
    expect(decodeActivity(fixture('iso-timestamp-bare'), typeMap)).toMatchObject({ value: { eventId: '1002', type: 'PURCHASE', occurredAt: T } });
  });

  it.each([
    ['malformed-no-after', /Debezium row \(after\)/],
    ['malformed-bad-row', /user_id/],
    ['unmapped-type-bare', /unmapped type "TELEPORT"/],
  ])('%s is a DecodeError', (name, message) => {
    expect(() => decodeActivity(fixture(name), typeMap)).toThrow(message);
  });

  it('reads time columns in ms, µs or ns by magnitude', () => {
    expect(debeziumInstant(T)).toBe(T);
    expect(debeziumInstant(T * 1000 + 456)).toBe(T);
    expect(debeziumInstant(T * 1_000_000 + 456_789)).toBe(T);
  });
});

describe('profile events', () => {
  it('takes the version, or else updatedAt, as the profile version', () => {
    expect(decodeProfile(json({ userId: 'u1', version: 7, vip: true, status: 'active' }))).toEqual({
      kind: 'event',
      value: { userId: 'u1', profileVersion: 7, vip: true, status: 'active' },
    });
    expect(decodeProfile(json({ userId: 'u1', updatedAt: '2026-11-20T12:00:00.123Z' }))).toMatchObject({ value: { profileVersion: T, vip: false } });
    expect(() => decodeProfile(json({ userId: 'u1', vip: true }))).toThrow(/version or updatedAt/);
  });
});

describe('activity events: the quick check agrees with the schema', () => {
  const value = fc.oneof(
    fc.constantFrom(undefined, null, '', 'x', 'VIEW', 'PURCHASE', 'LOGIN', 'nope', 0, -1, 1.5, 7, T, 2 ** 53, '2026-11-20T12:00:00Z', true, [], {}),
    fc.string({ maxLength: 3 }),
    fc.string({ minLength: 120, maxLength: 300 }),
    fc.integer(),
  );
  const field = fc.constantFrom('eventId', 'userId', 'type', 'itemId', 'category', 'occurredAt', 'source', 'props', 'extra');
  const event = fc.record({ eventId: value, userId: value, type: fc.constantFrom(...ACTIVITY_TYPES, 'NOPE'), itemId: value, category: value, occurredAt: value, source: value }, { requiredKeys: [] });

  it('gives exactly what the schema gives (same fields, same order), or fails as the schema does', () => {
    fc.assert(
      fc.property(event, fc.dictionary(field, value, { maxKeys: 2 }), (e, more) => {
        const input = JSON.parse(JSON.stringify({ ...e, ...more })) as unknown;
        const parsed = ActivityEventSchema.safeParse(input);
        const decode = () => decodeActivity(Buffer.from(JSON.stringify(input)), typeMap);
        if (!parsed.success) {
          expect(decode).toThrow(DecodeError);
          return;
        }
        const decoded = decode();
        expect(decoded).toEqual({ kind: 'event', value: parsed.data });
        expect(Object.keys((decoded as { value: object }).value)).toEqual(Object.keys(parsed.data));
      }),
      { numRuns: 3000 },
    );
  });
});
