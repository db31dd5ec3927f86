/** Window counts at their edges: (now − W, now], to bucket resolution (W/30). */
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/features/activity.js';
import { applyEvents, EMPTY_MEMORY } from '../../src/features/apply.js';
import { arrive } from '../support/events.js';
import { DEFAULT_FEATURE_PARAMS as P } from '../../src/features/params.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import { windowCounts } from '../../src/features/view.js';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0); // a multiple of every bucket width
const click = (id: string, at: number): ActivityEvent => ({ eventId: id, userId: 'u', type: 'CLICK', itemId: 'i', occurredAt: at });
const countsAt = (events: ActivityEvent[], now: number) =>
  windowCounts(applyEvents(DEFAULT_USER_STATE, EMPTY_MEMORY, arrive(events, now), P, 0).state, now, P);

describe('window counts', () => {
  it('counts an event at `now` and one just inside the 30 s window, not one just outside', () => {
    // Buckets are 1 s wide: the window at NOW holds buckets [NOW − 29 s, NOW + 1 s).
    const c = countsAt([click('now', NOW), click('in', NOW - 29_000), click('out', NOW - 29_001)], NOW);
    expect(c.LAST_30S.CLICK).toBe(2);
    expect(c.LAST_5M.CLICK).toBe(3);
  });

  it('drops an event from a window once its bucket leaves it, and keeps it in the longer ones', () => {
    const events = [click('a', NOW)];
    expect(countsAt(events, NOW + 29_999).LAST_30S.CLICK).toBe(1);
    expect(countsAt(events, NOW + 30_000).LAST_30S.CLICK).toBe(0);
    expect(countsAt(events, NOW + 30_000).LAST_5M.CLICK).toBe(1);
    expect(countsAt(events, NOW + 86_400_000 - 1).LAST_24H.CLICK).toBe(1);
    expect(countsAt(events, NOW + 86_400_000).LAST_24H.CLICK).toBe(0);
  });

  it('does not count an event from the future until its time comes', () => {
    const events = [click('later', NOW + 5_000)];
    expect(countsAt(events, NOW).LAST_30S.CLICK).toBe(0);
    expect(countsAt(events, NOW + 5_000).LAST_30S.CLICK).toBe(1);
  });

  it('counts per type, and never counts an event older than the window at the watermark', () => {
    const events = [click('old', NOW - 60_000), { ...click('v', NOW), type: 'VIEW' as const }, click('c', NOW)];
    const c = countsAt(events, NOW);
    expect(c.LAST_30S).toMatchObject({ CLICK: 1, VIEW: 1, PURCHASE: 0 });
    expect(c.LAST_5M).toMatchObject({ CLICK: 2, VIEW: 1 });
  });
});
