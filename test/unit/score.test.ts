import { describe, expect, it } from 'vitest';
import { activityScore, addWeighted, decayFactor, decayTo, EMPTY_SUM } from '../../src/features/score.js';

const DAY = 86_400_000;
const HALF_LIFE = 7 * DAY;

describe('decayed score', () => {
  it('halves a sum over one half-life and quarters it over two', () => {
    const s = { sum: 80, refTime: 0 };
    expect(decayTo(s, 7 * DAY, HALF_LIFE).sum).toBeCloseTo(40, 12);
    expect(decayTo(s, 14 * DAY, HALF_LIFE).sum).toBeCloseTo(20, 12);
    expect(decayFactor(0, HALF_LIFE)).toBe(1);
  });

  it('gives the same sum whatever order events are added in', () => {
    const events = [
      { w: 10, t: 3 * DAY },
      { w: 1, t: 0 },
      { w: 4, t: 10 * DAY },
      { w: 2, t: 1.5 * DAY },
    ];
    const fold = (es: typeof events) => es.reduce((s, e) => addWeighted(s, e.w, e.t, HALF_LIFE), EMPTY_SUM);
    const forward = decayTo(fold(events), 20 * DAY, HALF_LIFE).sum;
    const reversed = decayTo(fold([...events].reverse()), 20 * DAY, HALF_LIFE).sum;
    // Hand-computed: each weight decayed from its own time to day 20.
    const expected = events.reduce((n, e) => n + e.w * 2 ** (-(20 * DAY - e.t) / HALF_LIFE), 0);
    expect(forward).toBeCloseTo(expected, 12);
    expect(reversed).toBeCloseTo(expected, 12);
  });

  it('never moves the reference time back for a late event', () => {
    const s = addWeighted({ sum: 10, refTime: 5 * DAY }, 10, 5 * DAY - HALF_LIFE, HALF_LIFE);
    expect(s.refTime).toBe(5 * DAY);
    expect(s.sum).toBeCloseTo(15, 12);
  });

  it('maps the sum onto [0, 100) with 100·(1 − e^(−S/K))', () => {
    expect(activityScore(0, 50)).toBe(0);
    expect(activityScore(-1, 50)).toBe(0);
    expect(activityScore(50, 50)).toBeCloseTo(100 * (1 - Math.exp(-1)), 12);
    expect(activityScore(1e6, 50)).toBeLessThanOrEqual(100);
  });
});
