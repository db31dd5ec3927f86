/**
 * Every Redis key this service uses is built here. All keys of one user share
 * one hash tag, `{u:<id>}`, so they live in one Redis Cluster slot and one
 * script may touch them together; no script touches two users. Likewise each
 * item's lists share `{i:<id>}` and no script touches two items.
 */
export interface UserKeys {
  /** Hash: scalar state fields (version, score, stamps, profile). */
  readonly state: string;
  /** String: the dedupe memory of re-sends, 16 bytes an id (contracts/seen-ids.ts). */
  readonly seen: string;
  /** Sorted set: eventId → arrival time, the dedupe memory as versions before the packed form kept it; packed on first touch. */
  readonly legacySeen: string;
  /** Hash: window bucket counts. */
  readonly buckets: string;
  /** Sorted set: itemId → occurredAt of its latest interaction, so Redis keeps the order. */
  readonly recent: string;
  /** Hash: itemId → eventId of that latest interaction, the tie-break at equal times. */
  readonly recentIds: string;
  /** Sorted set: category → scaled affinity. */
  readonly categories: string;
  /** Hash: `topic/partition` → highest offset taken, the dedupe memory of Kafka redeliveries. */
  readonly offsets: string;
}

/** The sync's keys: all under one hash tag, `{sync}`, so its scripts touch one cluster slot. */
export interface SyncKeys {
  /** Sorted set: userId → when it became dirty (epoch ms): users changed since their last sync. */
  readonly dirty: string;
  /** Sorted set: userId → when it became dirty, for users a sync instance has claimed. */
  readonly claims: string;
  /** Sorted set: userId → when its claim's lease expires (epoch ms). */
  readonly leases: string;
  /** String: the generation this Redis was brought online under (first start or recovery); gone after a loss. */
  readonly online: string;
  /** String, with a TTL: held by the instance recovering a lost Redis. */
  readonly recovering: string;
}

/** An item's neighbour lists, one per relation, under the item's hash tag `{i:<id>}`. */
export interface ItemKeys {
  /** Sorted set: neighbourId → co-occurrence weight, from views and other interactions. */
  readonly viewed: string;
  /** Sorted set: neighbourId → weight of purchases made with this item among the buyer's latest. */
  readonly bought: string;
}

/** The trending list: both keys under `{trending}`, so its script touches one slot. */
export interface TrendingKeys {
  /** Sorted set: itemId → popularity scaled to the epoch. */
  readonly items: string;
  /** String: the epoch (ms) the scores are scaled to. */
  readonly epoch: string;
}

export interface RedisKeys {
  /** The collector's rate limits: rate-limiter-flexible appends `:<app or ip>` to this prefix. */
  readonly rateLimitPrefix: string;
  user(userId: string): UserKeys;
  item(itemId: string): ItemKeys;
  readonly sync: SyncKeys;
  readonly trending: TrendingKeys;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    rateLimitPrefix: `${prefix}rate`,
    user(userId) {
      const tag = `${prefix}{u:${userId}}`;
      return {
        state: `${tag}:state`,
        seen: `${tag}:ids`,
        legacySeen: `${tag}:seen`,
        buckets: `${tag}:buckets`,
        recent: `${tag}:recent`,
        recentIds: `${tag}:recent-ids`,
        categories: `${tag}:categories`,
        offsets: `${tag}:offsets`,
      };
    },
    item(itemId) {
      const tag = `${prefix}{i:${itemId}}`;
      return { viewed: `${tag}:viewed`, bought: `${tag}:bought` };
    },
    trending: { items: `${prefix}{trending}:items`, epoch: `${prefix}{trending}:epoch` },
    sync: {
      dirty: `${prefix}{sync}:dirty`,
      claims: `${prefix}{sync}:claims`,
      leases: `${prefix}{sync}:leases`,
      online: `${prefix}{sync}:online`,
      recovering: `${prefix}{sync}:recovering`,
    },
  };
}

/** The keys of a user in the order the scripts take them. */
export const userKeyList = (k: UserKeys): string[] => [k.state, k.seen, k.buckets, k.recent, k.categories, k.offsets, k.recentIds, k.legacySeen];
