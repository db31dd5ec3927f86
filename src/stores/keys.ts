/**
 * Every Redis key this service uses is built here. All keys of one user share
 * one hash tag, `{u:<id>}`, so they live in one Redis Cluster slot and one
 * script may touch them together; no script touches two users.
 */
export interface UserKeys {
  /** Hash: scalar state fields (version, score, stamps, profile). */
  readonly state: string;
  /** Sorted set: eventId → occurredAt, the dedupe memory. */
  readonly seen: string;
  /** Hash: window bucket counts. */
  readonly buckets: string;
  /** Sorted set: itemId → latest occurredAt. */
  readonly recent: string;
  /** Sorted set: category → scaled affinity. */
  readonly categories: string;
}

/** The sync's keys: all under one hash tag, `{sync}`, so its scripts touch one cluster slot. */
export interface SyncKeys {
  /** Sorted set: userId → when it became dirty (epoch ms): users changed since their last sync. */
  readonly dirty: string;
  /** Sorted set: userId → when it became dirty, for users a sync instance has claimed. */
  readonly claims: string;
  /** Sorted set: userId → when its claim's lease expires (epoch ms). */
  readonly leases: string;
  /** String: when this Redis was last brought online (filled or recovered); gone after a loss. */
  readonly online: string;
}

export interface RedisKeys {
  user(userId: string): UserKeys;
  readonly sync: SyncKeys;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    user(userId) {
      const tag = `${prefix}{u:${userId}}`;
      return {
        state: `${tag}:state`,
        seen: `${tag}:seen`,
        buckets: `${tag}:buckets`,
        recent: `${tag}:recent`,
        categories: `${tag}:categories`,
      };
    },
    sync: {
      dirty: `${prefix}{sync}:dirty`,
      claims: `${prefix}{sync}:claims`,
      leases: `${prefix}{sync}:leases`,
      online: `${prefix}{sync}:online`,
    },
  };
}

/** The five keys of a user in the order the scripts take them. */
export const userKeyList = (k: UserKeys): string[] => [k.state, k.seen, k.buckets, k.recent, k.categories];
