import { describe, expect, it } from 'vitest';
import { maxTier, tierFor, tierForScore } from '../../src/features/tier.js';

const T = { platinumMin: 95, goldAbove: 80, silverMin: 40 };

describe('tiers', () => {
  it.each([
    [0, 'BRONZE'],
    [39.999, 'BRONZE'],
    [40, 'SILVER'],
    [80, 'SILVER'],
    [80.0001, 'GOLD'],
    [94.999, 'GOLD'],
    [95, 'PLATINUM'],
    [100, 'PLATINUM'],
  ] as const)('score %d is %s', (score, tier) => {
    expect(tierForScore(score, T)).toBe(tier);
  });

  it('lifts a VIP to at least GOLD and never lowers one', () => {
    expect(tierFor(0, true, T)).toBe('GOLD');
    expect(tierFor(50, true, T)).toBe('GOLD');
    expect(tierFor(99, true, T)).toBe('PLATINUM');
    expect(tierFor(50, false, T)).toBe('SILVER');
    expect(maxTier('SILVER', 'BRONZE')).toBe('SILVER');
  });
});
