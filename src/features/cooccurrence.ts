/**
 * What a batch of activity adds to the item graph: co-occurrence edges and
 * trending popularity. Pure; the stores add the delta up (stores/item-graph.ts).
 *
 * For each event applied for the first time (re-sends and redeliveries add
 * nothing), in arrival order, with item X and weight w (the activity weight):
 *  - the anchors are the user's latest items at that moment, X excluded, at
 *    most K (by time, as `recentItems` orders them);
 *  - a PURCHASE adds w to `bought` from every anchor to X: "people who had Y
 *    among their latest items went on to buy X";
 *  - any other item event adds w to `viewed` both ways between X and every
 *    anchor: "people who viewed Y also viewed X", and back;
 *  - X's popularity grows by w, scaled to event time (trending);
 *  - then X joins the user's latest items.
 * Each event costs at most K edges per direction, however popular its item.
 */
import type { ActivityEvent, ActivityType } from './activity.js';
import type { RecommendationParams } from './params.js';
import { decayFactor } from './score.js';
import { isNewer } from './state.js';
import { latestFirst, type RecentItem } from './view.js';

export const RELATIONS = ['viewed', 'bought'] as const;
export type Relation = (typeof RELATIONS)[number];

/** Weight added to each neighbour of an item, per relation. */
export type EdgeWeights = Record<Relation, Map<string, number>>;

export interface ItemGraphDelta {
  /** item → relation → neighbour → weight to add. */
  readonly edges: ReadonlyMap<string, EdgeWeights>;
  /** item → popularity to add, as Σ w·2^((at − refTime)/halfLife). */
  readonly popularity: ReadonlyMap<string, number>;
  /** The event time popularity is scaled to: the latest item event of the batch. */
  readonly refTime: number;
}

/** One user's part of a batch, as the user state store reports it. */
export interface UserItemEvents {
  /** The user's latest items before the batch, latest first: at least K + 1 when the user has them. */
  readonly before: readonly RecentItem[];
  readonly events: readonly ActivityEvent[];
  /** Per event: applied for the first time. */
  readonly fresh: readonly boolean[];
}

export function graphDelta(users: Iterable<UserItemEvents>, weights: Readonly<Record<ActivityType, number>>, p: RecommendationParams): ItemGraphDelta {
  const edges = new Map<string, EdgeWeights>();
  const add = (item: string, relation: Relation, neighbour: string, w: number) => {
    let byRelation = edges.get(item);
    if (!byRelation) edges.set(item, (byRelation = { viewed: new Map(), bought: new Map() }));
    byRelation[relation].set(neighbour, (byRelation[relation].get(neighbour) ?? 0) + w);
  };
  const popular: { itemId: string; weight: number; at: number }[] = [];

  for (const u of users) {
    // Only the K + 1 latest can be anchors (one may be the event's own item); kept in
    // latestFirst order and updated in place: this loop runs for every item event.
    const latest = [...u.before].sort(latestFirst).slice(0, p.anchors + 1);
    u.events.forEach((e, i) => {
      const x = e.itemId;
      if (!u.fresh[i] || x === undefined) return;
      const w = weights[e.type];
      if (w > 0) {
        let anchors = 0;
        for (const anchor of latest) {
          if (anchors === p.anchors) break;
          if (anchor.itemId === x) continue;
          anchors++;
          if (e.type === 'PURCHASE') add(anchor.itemId, 'bought', x, w);
          else {
            add(anchor.itemId, 'viewed', x, w);
            add(x, 'viewed', anchor.itemId, w);
          }
        }
        popular.push({ itemId: x, weight: w, at: e.occurredAt });
      }
      const stamp = { at: e.occurredAt, eventId: e.eventId };
      const at = latest.findIndex((r) => r.itemId === x);
      if (at >= 0 && !isNewer(stamp, latest[at])) return;
      if (at >= 0) latest.splice(at, 1);
      const item = { itemId: x, ...stamp };
      const to = latest.findIndex((r) => latestFirst(item, r) < 0);
      if (to < 0) latest.push(item);
      else latest.splice(to, 0, item);
      if (latest.length > p.anchors + 1) latest.length = p.anchors + 1;
    });
  }

  const refTime = popular.reduce((t, e) => Math.max(t, e.at), 0);
  const popularity = new Map<string, number>();
  for (const e of popular) {
    popularity.set(e.itemId, (popularity.get(e.itemId) ?? 0) + e.weight * decayFactor(refTime - e.at, p.trendingHalfLifeMs));
  }
  return { edges, popularity, refTime };
}

/**
 * Adds `delta` into `into` (mutated; created from nothing when absent), so
 * that deltas written together are written once: weights add up, popularity
 * is carried to the later reference time. Returns `into`.
 */
export function addDelta(into: MutableGraphDelta | undefined, delta: ItemGraphDelta, trendingHalfLifeMs: number): MutableGraphDelta {
  const out: MutableGraphDelta = into ?? { edges: new Map<string, EdgeWeights>(), popularity: new Map<string, number>(), refTime: delta.refTime };
  for (const [item, relations] of delta.edges) {
    let mine = out.edges.get(item);
    if (!mine) out.edges.set(item, (mine = { viewed: new Map(), bought: new Map() }));
    for (const relation of RELATIONS) {
      const target = mine[relation];
      for (const [neighbour, w] of relations[relation]) target.set(neighbour, (target.get(neighbour) ?? 0) + w);
    }
  }
  if (delta.popularity.size > 0) {
    const refTime = Math.max(out.refTime, delta.refTime);
    if (refTime !== out.refTime) {
      const carry = decayFactor(refTime - out.refTime, trendingHalfLifeMs);
      for (const [item, p] of out.popularity) out.popularity.set(item, p * carry);
      out.refTime = refTime;
    }
    const scale = decayFactor(refTime - delta.refTime, trendingHalfLifeMs);
    for (const [item, p] of delta.popularity) out.popularity.set(item, (out.popularity.get(item) ?? 0) + p * scale);
  }
  return out;
}

/** A delta being added up (see addDelta). */
export interface MutableGraphDelta extends ItemGraphDelta {
  readonly edges: Map<string, EdgeWeights>;
  readonly popularity: Map<string, number>;
  refTime: number;
}
