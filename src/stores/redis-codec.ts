/**
 * How a UserState is laid out in Redis: scalar fields in a hash (numbers as
 * shortest round-trip strings, so nothing is lost), collections in their own
 * hash and sorted sets. Pure: no client here.
 */
import type { ActivityType } from '../features/activity.js';
import type { Stamp, UserState } from '../features/state.js';
import type { RecentItem } from '../features/view.js';

export type HashFields = Record<string, string>;

export function encodeStateFields(s: UserState): HashFields {
  const fields: HashFields = {
    updatedAt: String(s.updatedAt),
    watermark: String(s.watermark),
    scoreSum: String(s.scoreSum),
    scoreRefTime: String(s.scoreRefTime),
    vip: s.vip ? '1' : '0',
    status: s.status ?? '',
    profileVersion: String(s.profileVersion),
  };
  if (s.lastActivity) {
    Object.assign(fields, { laAt: String(s.lastActivity.at), laId: s.lastActivity.eventId, laType: s.lastActivity.type });
  }
  if (s.lastViewed) {
    Object.assign(fields, { lvAt: String(s.lastViewed.at), lvId: s.lastViewed.eventId, lvItem: s.lastViewed.itemId });
  }
  return fields;
}

const num = (v: string | undefined): number => (v === undefined || v === '' ? 0 : Number(v));

/** Pairs from `ZRANGE … WITHSCORES` (member, score, member, score …), in reply order. */
export function zsetEntries(flat: readonly string[]): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
  return out;
}

/** Pairs from `ZRANGE … WITHSCORES` as a record. */
export const zsetRecord = (flat: readonly string[]): Record<string, number> => Object.fromEntries(zsetEntries(flat));

export function decodeState(
  h: HashFields,
  buckets: HashFields,
  recent: readonly string[],
  recentIds: HashFields,
  categories: readonly string[],
): UserState | undefined {
  if (h.version === undefined) return undefined;
  return {
    version: num(h.version),
    updatedAt: num(h.updatedAt),
    watermark: num(h.watermark),
    scoreSum: num(h.scoreSum),
    scoreRefTime: num(h.scoreRefTime),
    vip: h.vip === '1',
    status: h.status ? h.status : null,
    profileVersion: num(h.profileVersion),
    lastActivity: h.laAt ? { at: num(h.laAt), eventId: h.laId ?? '', type: h.laType as ActivityType } : null,
    lastViewed: h.lvAt ? { at: num(h.lvAt), eventId: h.lvId ?? '', itemId: h.lvItem ?? '' } : null,
    buckets: numberRecord(buckets),
    recent: stampRecord(recent, recentIds),
    categories: zsetRecord(categories),
  };
}

/** A recent item as the restore script takes it: `occurredAt:eventId`. */
export const stampField = (s: Stamp): string => `${s.at}:${s.eventId}`;

/** Recent items from their sorted set (item, occurredAt, …) and their eventIds' hash. */
function stampRecord(zset: readonly string[], ids: HashFields): Record<string, Stamp> {
  const out: Record<string, Stamp> = {};
  for (const [item, at] of zsetEntries(zset)) out[item] = { at, eventId: ids[item] ?? '' };
  return out;
}

/** The latest items a script reports: [itemId, occurredAt, eventId, …]. */
export function recentTriples(flat: readonly string[]): RecentItem[] {
  const out: RecentItem[] = [];
  for (let i = 0; i < flat.length; i += 3) out.push({ itemId: flat[i]!, at: Number(flat[i + 1]), eventId: flat[i + 2]! });
  return out;
}

/** A hash of numbers, as HGETALL answers it. */
export const numberRecord = (h: HashFields): Record<string, number> => Object.fromEntries(Object.entries(h).map(([f, n]) => [f, Number(n)]));

/** A record of numbers as strings, so the restore script's JSON keeps them exact. */
export const stringRecord = (r: Readonly<Record<string, number>>): Record<string, string> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]));

/** A record as the flat [key, value-as-string, …] list the restore script takes. */
export const flatPairs = (r: Readonly<Record<string, number>>): string[] =>
  Object.entries(r).flatMap(([k, v]) => [k, String(v)]);

/** Unwraps ioredis pipeline replies, throwing the first error. */
export function replies(results: [Error | null, unknown][] | null): unknown[] {
  return (results ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
