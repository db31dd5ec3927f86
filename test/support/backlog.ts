/**
 * A backlog as a processor meets it after downtime, a new deployment over a
 * topic with history, or a replay: days of activity for a few hundred users,
 * with re-sends, legacy rows as Debezium change events (inserts, updates and
 * snapshot reads of counted rows, deletes with the default replica identity,
 * tombstones, a truncate) and static profiles; and the state the reference
 * model gives for it with no horizon: every distinct event counted once.
 */
import type { Message } from 'kafkajs';
import { ACTIVITY_TYPES, type ActivityEvent, type ActivityType } from '../../src/features/activity.js';
import { applyProfile, type ProfileUpdate } from '../../src/features/apply.js';
import type { FeatureParams } from '../../src/features/params.js';
import { DEFAULT_USER_STATE, type UserState } from '../../src/features/state.js';
import { arrive, modelRun, statesOf } from './events.js';
import { random } from './processor-harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The legacy types of the default CDC_TYPE_MAP. */
const LEGACY: Record<ActivityType, string> = {
  VIEW: 'VIEW_PRODUCT', CLICK: 'CLICK_PRODUCT', SEARCH: 'SEARCH_QUERY', LIKE: 'LIKE_PRODUCT', COMMENT: 'COMMENT_PRODUCT',
  SHARE: 'SHARE_PRODUCT', ADD_TO_CART: 'CART_ADD', PURCHASE: 'ORDER_PLACED', LOGIN: 'SIGN_IN',
};
/** Types whose events may come without an item: a liked review, a shared page. */
const ITEMLESS: ReadonlySet<ActivityType> = new Set(['SEARCH', 'LOGIN', 'LIKE', 'COMMENT', 'SHARE']);

export interface Backlog {
  /** Messages of the activity topic, in order: events and their re-sends. */
  readonly activity: Message[];
  /** Messages of the CDC topic, in order. */
  readonly cdc: Message[];
  readonly profile: Message[];
  /** Every distinct event, activity and legacy rows alike. */
  readonly events: readonly ActivityEvent[];
  readonly profiles: readonly ProfileUpdate[];
  /** What the processor must report for each topic. */
  readonly expected: {
    readonly activity: { applied: number; resent: number };
    readonly cdc: { applied: number; resent: number; skipped: number };
    /** Profiles newer than every earlier one of their user apply; the rest are stale. */
    readonly profile: { applied: number; stale: number };
  };
}


/** A Debezium envelope of the legacy table, schema-wrapped or plain as the converter is set. */
function envelope(op: string, before: unknown, after: unknown, wrapped: boolean): string {
  const payload = { before, after, source: { connector: 'postgresql', db: 'legacy', schema: 'public', table: 'user_activity' }, op, ts_ms: Date.now() };
  return JSON.stringify(wrapped ? { schema: { type: 'struct', name: 'legacy.public.user_activity.Envelope' }, payload } : payload);
}

/**
 * `events` activity events and `rows` legacy rows of `users` users over `days`
 * days of event time ending an hour ago, the same for the same seed.
 */
export function backlog({ seed = 1, users = 320, events = 20_000, rows = 1_000, days = 5 }: { seed?: number; users?: number; events?: number; rows?: number; days?: number } = {}): Backlog {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  const end = Date.now() - HOUR;
  const at = () => end - Math.floor(next() * days * DAY);
  const user = () => `b${seed}-user-${Math.floor(next() * users)}`;
  const event = (eventId: string, userId: string, type: ActivityType): ActivityEvent => {
    const itemless = ITEMLESS.has(type) && (type === 'SEARCH' || type === 'LOGIN' || next() < 0.5);
    return { eventId, userId, type, itemId: itemless ? undefined : `item-${Math.floor(next() * 300)}`, category: next() < 0.6 ? pick(['books', 'games', 'music', 'garden', 'tools', 'toys']) : undefined, occurredAt: at() };
  };

  const plain = Array.from({ length: events }, (_, i) => event(`b${seed}-e${i}`, user(), pick(ACTIVITY_TYPES)));
  const activity: Message[] = [];
  let resent = 0;
  for (const e of plain) {
    activity.push({ key: e.userId, value: JSON.stringify(e) });
    // A tenth is sent again a little later: a producer's retry after a lost acknowledgement.
    if (next() < 0.1) {
      activity.splice(Math.max(0, activity.length - Math.floor(next() * 50)), 0, { key: e.userId, value: JSON.stringify(e) });
      resent++;
    }
  }

  const legacy = Array.from({ length: rows }, (_, i) => {
    const e = event(String(900_000 + seed * 10_000 + i), user(), pick(ACTIVITY_TYPES));
    return { e, row: { id: Number(e.eventId), user_id: e.userId, activity_type: LEGACY[e.type], product_id: e.itemId ?? null, activity_timestamp: e.occurredAt * 1000 + Math.floor(next() * 1000) } };
  });
  const cdc: Message[] = [];
  let cdcResent = 0;
  let skipped = 0;
  for (const { e, row } of legacy) {
    const wrapped = next() < 0.5;
    cdc.push({ key: e.userId, value: envelope(next() < 0.2 ? 'r' : 'c', null, row, wrapped) });
    const fate = next();
    if (fate < 0.15) {
      // An update of a counted row (REPLICA IDENTITY DEFAULT: no before image): counted already.
      cdc.push({ key: e.userId, value: envelope('u', null, row, wrapped) });
      cdcResent++;
    } else if (fate < 0.25) {
      // A delete: only the key in before, then the tombstone. Skipped, the row's event stays counted.
      cdc.push({ key: e.userId, value: envelope('d', { id: row.id, user_id: null, activity_type: null, product_id: null, activity_timestamp: null }, null, wrapped) });
      cdc.push({ key: e.userId, value: null });
      skipped += 2;
    }
  }
  cdc.push({ key: null, value: envelope('t', null, null, true) });
  skipped++;
  // A snapshot re-read after a connector restart sends the first rows again.
  for (const { e, row } of legacy.slice(0, 50)) {
    cdc.push({ key: e.userId, value: envelope('r', null, row, false) });
    cdcResent++;
  }

  const profiles: ProfileUpdate[] = [];
  for (let u = 0; u < 30; u++) {
    for (let v = 1 + Math.floor(next() * 3); v > 0; v--) {
      profiles.push({ userId: `b${seed}-user-${u * 7}`, profileVersion: Math.floor(next() * 100) + 1, vip: next() < 0.5, status: pick(['active', 'dormant', null]) });
    }
  }
  const profile = profiles.map((p) => ({ key: p.userId, value: JSON.stringify({ userId: p.userId, version: p.profileVersion, vip: p.vip, status: p.status }) }));

  return {
    activity,
    cdc,
    profile,
    // A legacy row carries no category.
    events: [...plain, ...legacy.map(({ e }) => ({ ...e, category: undefined, source: 'cdc' }))],
    profiles,
    expected: { activity: { applied: plain.length, resent }, cdc: { applied: legacy.length, resent: cdcResent, skipped }, profile: profileOutcomes(profiles) },
  };
}

function profileOutcomes(profiles: readonly ProfileUpdate[]): { applied: number; stale: number } {
  const newest = new Map<string, number>();
  let applied = 0;
  for (const p of profiles) {
    if (p.profileVersion > (newest.get(p.userId) ?? 0)) {
      newest.set(p.userId, p.profileVersion);
      applied++;
    }
  }
  return { applied, stale: profiles.length - applied };
}

/** Every user's state under the reference model with no horizon, profiles laid over. */
export function backlogStates(b: Backlog, params: FeatureParams): Map<string, UserState> {
  const states = statesOf(modelRun([arrive(b.events, Date.now())], params));
  for (const p of b.profiles) {
    const current = states.get(p.userId) ?? DEFAULT_USER_STATE;
    states.set(p.userId, applyProfile(current, p, 0) ?? current);
  }
  return states;
}
