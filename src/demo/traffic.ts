/**
 * src/demo: what `npm run dev` shows a newcomer: synthetic traffic through
 * the collector (traffic.ts) and the live page (page.ts, with public/demo/).
 * It may import the base modules and anything below the servers' tier; never
 * roles/.
 *
 * Demo traffic: a dozen users browsing, carting and buying a small catalogue,
 * a few events a second, sent through the collector like real traffic, so
 * that `npm run dev` shows scores, tiers, windows and recommendations move.
 *
 * Each user leans to two of the catalogue's categories, so items co-occur
 * and recommendations have something to go on. `demoEvent` is pure (the
 * randomness and the clock are arguments); `startDemoTraffic` only sends.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.js';

export const DEMO_USERS: readonly string[] = Array.from({ length: 12 }, (_, i) => `demo-user-${i + 1}`);

const CATEGORIES = ['books', 'games', 'music', 'garden', 'kitchen', 'sports'] as const;

/** Five items per category: `book-1` … `sports-5`. */
export const DEMO_ITEMS: readonly { readonly id: string; readonly category: string }[] = CATEGORIES.flatMap((category) =>
  Array.from({ length: 5 }, (_, i) => ({ id: `${category.replace(/s$/, '')}-${i + 1}`, category })),
);

/** Cumulative odds of each type: mostly views, some clicks and likes, fewer carts, fewest purchases. */
const TYPES = [
  ['VIEW', 0.6],
  ['CLICK', 0.75],
  ['LIKE', 0.83],
  ['ADD_TO_CART', 0.95],
  ['PURCHASE', 1],
] as const;

export interface DemoEvent {
  readonly eventId: string;
  readonly userId: string;
  readonly type: string;
  readonly itemId: string;
  readonly category: string;
  readonly occurredAt: string;
  readonly source: 'demo';
}

/** One synthetic event at `now`; `random` returns numbers in [0, 1). */
export function demoEvent(random: () => number, now: number, eventId: string): DemoEvent {
  const u = Math.floor(random() * DEMO_USERS.length);
  // The user's two favourite categories take four picks in five.
  const favourite = random() < 0.8;
  const c = favourite ? (u + Math.floor(random() * 2)) % CATEGORIES.length : Math.floor(random() * CATEGORIES.length);
  const inCategory = DEMO_ITEMS.filter((i) => i.category === CATEGORIES[c]);
  const item = inCategory[Math.floor(random() * inCategory.length)]!;
  const roll = random();
  const type = TYPES.find(([, odds]) => roll < odds)![0];
  return { eventId, userId: DEMO_USERS[u]!, type, itemId: item.id, category: item.category, occurredAt: new Date(now).toISOString(), source: 'demo' };
}

export interface DemoTrafficOptions {
  /** The collector's `POST /v1/events` URL. */
  readonly url: string;
  /** Events per second. */
  readonly rate: number;
  readonly logger: Logger;
}

export interface DemoTraffic {
  stop(): void;
}

/** Sends `rate` events a second, one request a second; a refused request is logged once, not retried. */
export function startDemoTraffic(o: DemoTrafficOptions): DemoTraffic {
  const log = o.logger.child({ component: 'demo-traffic' });
  let owed = 0;
  let failing = false;
  const tick = () => {
    owed += o.rate;
    const n = Math.floor(owed);
    owed -= n;
    if (n === 0) return;
    const events = Array.from({ length: n }, () => demoEvent(Math.random, Date.now(), randomUUID()));
    fetch(o.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events), signal: AbortSignal.timeout(5000) })
      .then((res) => {
        if (!res.ok) throw new Error(`collector answered ${res.status}`);
        if (failing) log.info('demo traffic flows again');
        failing = false;
      })
      .catch((err: unknown) => {
        if (!failing) log.warn({ err }, 'demo traffic: the collector refused a request');
        failing = true;
      });
  };
  const timer = setInterval(tick, 1000);
  timer.unref();
  log.info({ rate: o.rate, users: DEMO_USERS.length }, 'demo traffic: synthetic events through the collector (DEMO_TRAFFIC=off stops it)');
  return { stop: () => clearInterval(timer) };
}
