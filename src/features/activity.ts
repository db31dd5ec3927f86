/** Activity events as the feature maths sees them: already decoded and validated. */

export const ACTIVITY_TYPES = [
  'VIEW',
  'CLICK',
  'SEARCH',
  'LIKE',
  'COMMENT',
  'SHARE',
  'ADD_TO_CART',
  'PURCHASE',
  'LOGIN',
] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

/**
 * Types that are about an item and so must carry `itemId`. LIKE, COMMENT and
 * SHARE may be about something else (a liked review, a shared page).
 */
export const ITEM_TYPES: ReadonlySet<ActivityType> = new Set(['VIEW', 'CLICK', 'ADD_TO_CART', 'PURCHASE']);

export const DEFAULT_WEIGHTS: Readonly<Record<ActivityType, number>> = Object.freeze({
  VIEW: 1,
  SEARCH: 1,
  CLICK: 2,
  LIKE: 3,
  COMMENT: 4,
  SHARE: 4,
  ADD_TO_CART: 5,
  PURCHASE: 10,
  LOGIN: 0.5,
});

export interface ActivityEvent {
  /** Unique; the idempotency key. */
  readonly eventId: string;
  readonly userId: string;
  readonly type: ActivityType;
  readonly itemId?: string | undefined;
  readonly category?: string | undefined;
  /** Epoch ms. */
  readonly occurredAt: number;
  readonly source?: string | undefined;
  readonly props?: Readonly<Record<string, unknown>> | undefined;
}
