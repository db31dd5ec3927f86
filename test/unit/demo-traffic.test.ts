import { describe, expect, it } from 'vitest';
import { checkActivityEvent } from '../../src/contracts/activity-event.js';
import { DEMO_ITEMS, DEMO_USERS, demoEvent } from '../../src/demo/traffic.js';
import { random } from '../support/processor-harness.js';

const T = Date.UTC(2026, 11, 1, 12);
const many = (seed: number, n = 3000) => {
  const rng = random(seed);
  return Array.from({ length: n }, (_, i) => demoEvent(rng, T + i * 300, `e-${i}`));
};

describe('demo traffic', () => {
  it('makes events the collector and the processor accept, for the demo users and items only', () => {
    const items = new Map(DEMO_ITEMS.map((i) => [i.id, i.category]));
    for (const e of many(1)) {
      expect(checkActivityEvent(e), JSON.stringify(e)).toMatchObject({ ok: true });
      expect(DEMO_USERS).toContain(e.userId);
      expect(items.get(e.itemId)).toBe(e.category);
    }
    expect(DEMO_USERS).toHaveLength(12);
    expect(new Set(DEMO_ITEMS.map((i) => i.id)).size).toBe(30);
  });

  it('browses more than it buys, reaches every user and type, and leans each user to two categories', () => {
    const events = many(2);
    const share = (type: string) => events.filter((e) => e.type === type).length / events.length;
    expect(new Set(events.map((e) => e.userId)).size).toBe(12);
    expect(share('VIEW')).toBeGreaterThan(0.5);
    expect(share('PURCHASE')).toBeGreaterThan(0.02);
    expect(share('PURCHASE')).toBeLessThan(share('ADD_TO_CART'));
    expect(share('ADD_TO_CART')).toBeLessThan(share('VIEW'));
    for (const user of DEMO_USERS) {
      const mine = events.filter((e) => e.userId === user);
      const byCategory = new Map<string, number>();
      for (const e of mine) byCategory.set(e.category, (byCategory.get(e.category) ?? 0) + 1);
      const [first = 0, second = 0] = [...byCategory.values()].sort((a, b) => b - a);
      // Four picks in five go to the two favourites (plus their share of the random fifth).
      expect((first + second) / mine.length, user).toBeGreaterThan(0.75);
    }
  });

  it('is a function of its randomness and clock', () => {
    expect(many(3, 50)).toEqual(many(3, 50));
    expect(many(3, 50)).not.toEqual(many(4, 50));
  });
});
