/** The collector's intake without I/O: formats, the shared contract, the time bounds, the batch cap. */
import { describe, expect, it } from 'vitest';
import type { BodyError} from '../../src/collector/intake.js';
import { formatOf, intake } from '../../src/collector/intake.js';
import { decodeActivity } from '../../src/ingest/decode.js';

const NOW = Date.UTC(2026, 11, 1, 12);
const bounds = { maxEventAgeMs: 30 * 86_400_000, maxClockSkewMs: 300_000, maxBatch: 3 };
const ok = { eventId: 'e1', userId: 'u1', type: 'VIEW', itemId: 'i1', occurredAt: NOW };

describe('collector intake', () => {
  it('knows JSON (and beacons’ text/plain) and NDJSON, whatever the parameters, and nothing else', () => {
    expect(formatOf('application/json; charset=utf-8')).toBe('json');
    expect(formatOf('text/plain;charset=UTF-8')).toBe('json');
    expect(formatOf('application/x-ndjson')).toBe('ndjson');
    expect(formatOf('application/xml')).toBeUndefined();
    expect(formatOf(undefined)).toBeUndefined();
  });

  it('takes one object or an array, refuses by index with field paths, and bounds occurredAt both ways', () => {
    expect(intake(JSON.stringify(ok), 'json', NOW, bounds)).toEqual({ accepted: [ok], rejected: [] });
    const batch = [ok, { ...ok, occurredAt: NOW + 300_001 }, { ...ok, occurredAt: NOW - 30 * 86_400_000 - 1 }];
    expect(intake(JSON.stringify(batch), 'json', NOW, bounds)).toEqual({
      accepted: [ok],
      rejected: [
        { index: 1, errors: [{ path: 'occurredAt', message: 'more than 300000 ms after its arrival' }] },
        { index: 2, errors: [{ path: 'occurredAt', message: 'more than 30 days before its arrival' }] },
      ],
    });
    // Exactly at the bounds is accepted.
    expect(intake(JSON.stringify([{ ...ok, occurredAt: NOW + 300_000 }, { ...ok, occurredAt: NOW - 30 * 86_400_000 }]), 'json', NOW, bounds).rejected).toEqual([]);
  });

  it('refuses what the processor would dead-letter, with the processor’s own messages', () => {
    const bad = { eventId: 'e2', userId: 'u1', type: 'PURCHASE', occurredAt: NOW };
    const { rejected } = intake(JSON.stringify([bad]), 'json', NOW, bounds);
    expect(rejected).toEqual([{ index: 0, errors: [{ path: 'itemId', message: 'itemId is required for item events' }] }]);
    expect(() => decodeActivity(Buffer.from(JSON.stringify(bad)), {})).toThrow('invalid activity event: itemId: itemId is required for item events');
  });

  it('reads NDJSON line by line: a line that is not JSON is rejected alone', () => {
    const body = `${JSON.stringify(ok)}\n\n{oops\n${JSON.stringify({ ...ok, eventId: 'e3' })}\n`;
    const result = intake(body, 'ndjson', NOW, bounds);
    expect(result.accepted.map((e) => e.eventId)).toEqual(['e1', 'e3']);
    expect(result.rejected).toEqual([{ index: 1, errors: [{ path: '(root)', message: expect.stringMatching(/^not JSON: /) as unknown }] }]);
  });

  it('refuses a body that is not JSON (400), holds no event (400) or more than the batch cap (413)', () => {
    const status = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as BodyError).status;
      }
      return 'accepted';
    };
    expect(status(() => intake('{"eventId":', 'json', NOW, bounds))).toBe(400);
    expect(status(() => intake('[]', 'json', NOW, bounds))).toBe(400);
    expect(status(() => intake('\n\n', 'ndjson', NOW, bounds))).toBe(400);
    expect(status(() => intake(JSON.stringify([ok, ok, ok]), 'json', NOW, bounds))).toBe('accepted');
    expect(status(() => intake(JSON.stringify([ok, ok, ok, ok]), 'json', NOW, bounds))).toBe(413);
  });
});
