import { describe, expect, it } from 'vitest';
import { summarise } from '../../bench/summary.js';

describe('summarise (bench --repeat)', () => {
  it('gives each number its median and range, and keeps the rest from the first run', () => {
    const runs = [
      { machine: 'box', cases: [{ p99ms: 30 }, { p99ms: 5 }], eventsPerSec: 100 },
      { machine: 'box', cases: [{ p99ms: 10 }, { p99ms: 7 }], eventsPerSec: 300 },
      { machine: 'box', cases: [{ p99ms: 20 }, { p99ms: 6 }], eventsPerSec: 200 },
    ];
    expect(summarise(runs)).toEqual({
      machine: 'box',
      cases: [{ p99ms: { median: 20, min: 10, max: 30 } }, { p99ms: { median: 6, min: 5, max: 7 } }],
      eventsPerSec: { median: 200, min: 100, max: 300 },
    });
  });

  it('takes the mean of the middle two over an even count, and skips runs that lack a figure', () => {
    expect(summarise([{ a: 1 }, { a: 4 }, { a: 2 }, { a: 10 }])).toEqual({ a: { median: 3, min: 1, max: 10 } });
    expect(summarise([{ a: 1 }, {}, { a: 3 }])).toEqual({ a: { median: 2, min: 1, max: 3 } });
    expect(summarise([{ a: Number.NaN }])).toEqual({ a: null });
  });
});
