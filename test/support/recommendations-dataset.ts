/**
 * A small data set worked out by hand: five users, eight items, and the item
 * lists and recommendations it must give. With K = 3 anchors and a recency
 * half-life of one hour, an anchor one hour older than the user's latest
 * item counts 1/2, two hours older 1/4. Weights: VIEW 1, CLICK 2, PURCHASE 10.
 *
 * Edges each event adds (a PURCHASE adds `bought` from each anchor to the
 * item; any other event adds `viewed` both ways with each anchor):
 *   u1  VIEW i1 @0h  –
 *       VIEW i2 @1h  viewed i1–i2 +1
 *       BUY  i3 @2h  bought i2→i3 +10, i1→i3 +10
 *   u2  VIEW i1 @0h  –
 *       CLICK i4 @1h viewed i1–i4 +2
 *       BUY  i3 @2h  bought i4→i3 +10, i1→i3 +10
 *   u3  VIEW i2 @0h  –
 *       VIEW i5 @1h  viewed i2–i5 +1
 *   u4  VIEW i6 @0h  –
 *       VIEW i7 @1h  viewed i6–i7 +1
 *       VIEW i8 @2h  viewed i7–i8, i6–i8 +1
 *       VIEW i1 @3h  viewed i8–i1, i7–i1, i6–i1 +1
 *       VIEW i5 @4h  viewed i1–i5, i8–i5, i7–i5 +1 (i6 is 4th latest: not an anchor)
 *   u5  no events: trending items.
 */
import type { ActivityEvent, ActivityType } from '../../src/features/activity.js';

export const RECS_ENV = { RECS_ANCHORS: '3', RECS_RECENCY_HALF_LIFE_HOURS: '1', TRENDING_PUSH_INTERVAL_MS: '0' } as const;

const HOUR = 3_600_000;

/** The events, each user's in order, with times `t0` + hours. */
export function recsEvents(t0: number, prefix = ''): ActivityEvent[] {
  const plan: [string, ActivityType, string, number][] = [
    ['u1', 'VIEW', 'i1', 0], ['u1', 'VIEW', 'i2', 1], ['u1', 'PURCHASE', 'i3', 2],
    ['u2', 'VIEW', 'i1', 0], ['u2', 'CLICK', 'i4', 1], ['u2', 'PURCHASE', 'i3', 2],
    ['u3', 'VIEW', 'i2', 0], ['u3', 'VIEW', 'i5', 1],
    ['u4', 'VIEW', 'i6', 0], ['u4', 'VIEW', 'i7', 1], ['u4', 'VIEW', 'i8', 2], ['u4', 'VIEW', 'i1', 3], ['u4', 'VIEW', 'i5', 4],
  ];
  return plan.map(([user, type, item, hour], i) => ({
    eventId: `${prefix}rec-${i}`,
    userId: `${prefix}${user}`,
    type,
    itemId: `${prefix}${item}`,
    occurredAt: t0 + hour * HOUR,
  }));
}

/** Each item's neighbours, strongest first; equal weights list the greater id first. */
export const EXPECTED_ALSO_VIEWED: Record<string, string[]> = {
  i1: ['i4', 'i8', 'i7', 'i6', 'i5', 'i2'],
  i2: ['i5', 'i1'],
  i3: [],
  i4: ['i1'],
  i5: ['i8', 'i7', 'i2', 'i1'],
  i6: ['i8', 'i7', 'i1'],
  i7: ['i8', 'i6', 'i5', 'i1'],
  i8: ['i7', 'i6', 'i5', 'i1'],
};
export const EXPECTED_ALSO_BOUGHT: Record<string, string[]> = {
  i1: ['i3'], i2: ['i3'], i3: [], i4: ['i3'], i5: [], i6: [], i7: [], i8: [],
};

export interface ExpectedRecommendation {
  readonly item: string;
  readonly score: number;
  readonly reason: 'ALSO_VIEWED' | 'ALSO_BOUGHT' | 'TRENDING';
  readonly because: string | null;
}
const r = (item: string, score: number, reason: 'ALSO_VIEWED' | 'ALSO_BOUGHT', because: string): ExpectedRecommendation => ({ item, score, reason, because });

/**
 * Worked out from the lists above (anchors latest first, own items excluded):
 *  u1: anchors i3 (1), i2 (1/2), i1 (1/4). i5: 1/2 via i2 + 1/4 via i1 = 3/4;
 *      i4: 2 × 1/4; i6, i7, i8: 1/4 each.
 *  u2: anchors i3 (1), i4 (1/2), i1 (1/4): i4's lists hold only its own items,
 *      so everything comes from i1 at 1/4: i2, i5, i6, i7, i8.
 *  u3: anchors i5 (1), i2 (1/2). i3: 10 × 1/2 bought; i1: 1 + 1/2; i7, i8: 1.
 *  u4: anchors i5 (1), i1 (1/2), i8 (1/4). i3: 20 × 1/2 bought; i2: 1 + 1/2; i4: 2 × 1/2.
 */
export const EXPECTED_RECOMMENDATIONS: Record<string, ExpectedRecommendation[]> = {
  u1: [r('i5', 0.75, 'ALSO_VIEWED', 'i2'), r('i4', 0.5, 'ALSO_VIEWED', 'i1'), r('i6', 0.25, 'ALSO_VIEWED', 'i1'), r('i7', 0.25, 'ALSO_VIEWED', 'i1'), r('i8', 0.25, 'ALSO_VIEWED', 'i1')],
  u2: ['i2', 'i5', 'i6', 'i7', 'i8'].map((i) => r(i, 0.25, 'ALSO_VIEWED', 'i1')),
  u3: [r('i3', 5, 'ALSO_BOUGHT', 'i2'), r('i1', 1.5, 'ALSO_VIEWED', 'i5'), r('i7', 1, 'ALSO_VIEWED', 'i5'), r('i8', 1, 'ALSO_VIEWED', 'i5')],
  u4: [r('i3', 10, 'ALSO_BOUGHT', 'i1'), r('i2', 1.5, 'ALSO_VIEWED', 'i5'), r('i4', 1, 'ALSO_VIEWED', 'i1')],
};

/**
 * u5 has no history: trending, by popularity Σ w·2^((t − now)/24 h). Relative
 * to c = 2^((t0 − now)/24 h) and x = 2^(1/24): i3 20x², i1 (2 + x³), i5 (x + x⁴),
 * i4 2x, i2 (1 + x), i8 x², i7 x, i6 1.
 */
const x = 2 ** (1 / 24);
export const EXPECTED_TRENDING: [string, number][] = [
  ['i3', 20 * x ** 2], ['i1', 2 + x ** 3], ['i5', x + x ** 4], ['i4', 2 * x], ['i2', 1 + x], ['i8', x ** 2], ['i7', x], ['i6', 1],
];

/** Then u1 buys i8 at 3h: bought i3→i8, i2→i8, i1→i8 +10. u3 shares i2 with u1, so u3's list changes. */
export const u1BuysI8 = (t0: number, prefix = ''): ActivityEvent => ({
  eventId: `${prefix}rec-buy-i8`, userId: `${prefix}u1`, type: 'PURCHASE', itemId: `${prefix}i8`, occurredAt: t0 + 3 * HOUR,
});
/** u3 after it: i8 gains 10 × 1/2 bought via i2 on top of 1 viewed via i5. */
export const EXPECTED_U3_AFTER: ExpectedRecommendation[] = [
  r('i8', 6, 'ALSO_BOUGHT', 'i2'), r('i3', 5, 'ALSO_BOUGHT', 'i2'), r('i1', 1.5, 'ALSO_VIEWED', 'i5'), r('i7', 1, 'ALSO_VIEWED', 'i5'),
];
