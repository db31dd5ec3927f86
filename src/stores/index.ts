/**
 * src/stores: Redis and MongoDB behind store interfaces (user states, item
 * graph, profiles), their in-process twins held to the same contract suites,
 * the Lua scripts (lua/, loaded once) and the one module that builds Redis
 * keys (keys.ts). It may import contracts/, features/ and the base modules.
 *
 * Opens the stores the configured adapters call for: the real servers, or
 * their in-process twins in embedded mode. Both kinds pass the same contract
 * tests (test/contract).
 */
import type { DependencyCheck } from '../observability/health.js';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { ItemGraphStore } from './item-graph.js';
import { createMemoryItemGraphStore } from './memory-item-graph-store.js';
import { createMemoryProfileStore } from './memory-profile-store.js';
import { createMemoryUserStateStore } from './memory-user-state-store.js';
import { createMongoProfileStore } from './mongo-profile-store.js';
import type { ProfileStore } from './profile.js';
import { createRedisItemGraphStore } from './redis-item-graph-store.js';
import { connectRedis, replicaWaiter } from './redis-connection.js';
import { evictionVerdict, type EvictionVerdict } from './redis-eviction.js';
import { replicatedItemGraphStore, replicatedUserStateStore } from './replicated-stores.js';
import { createRedisUserStateStore } from './redis-user-state-store.js';
import type { UserStateStore } from './user-state.js';

export interface Stores {
  readonly userStates: UserStateStore;
  readonly profiles: ProfileStore;
  /** Co-occurrence and trending, for recommendations. */
  readonly itemGraph: ItemGraphStore;
  readonly checks: readonly DependencyCheck[];
  /** Prepares MongoDB (its indexes): fails while MongoDB is down, so a server retries it. */
  init(): Promise<void>;
  /** Redis' eviction policy, read once Redis answers (redis-eviction.ts); undefined on in-process adapters. */
  checkEviction(): Promise<EvictionVerdict | undefined>;
  close(): Promise<void>;
}

export async function openStores(config: Config, logger: Logger): Promise<Stores> {
  // Each store its own client, and its writes waited for on that client's connections (WAIT is per connection).
  const redis = () => {
    const client = connectRedis(config.redis, (err) => logger.warn({ err }, 'redis connection error'));
    return { client, replicated: replicaWaiter(client, config.redis) };
  };
  const userStates =
    config.adapters === 'memory'
      ? createMemoryUserStateStore(config.features)
      : ((r) => replicatedUserStateStore(createRedisUserStateStore({ redis: r.client, keyPrefix: config.redis.keyPrefix, params: config.features }), r.replicated))(redis());
  const itemGraph =
    config.adapters === 'memory'
      ? createMemoryItemGraphStore(config.recommendations)
      : ((r) => replicatedItemGraphStore(createRedisItemGraphStore({ redis: r.client, keyPrefix: config.redis.keyPrefix, params: config.recommendations }), r.replicated))(redis());
  // Connects on first use: opening never waits for MongoDB (see `init`).
  const profiles: ProfileStore =
    config.adapters === 'memory' ? createMemoryProfileStore() : await createMongoProfileStore({ url: config.mongo.url, db: config.mongo.db });
  // An in-process store cannot be lost without the process: it is online from the start.
  if (config.adapters === 'memory') await userStates.markOnline('embedded');
  return {
    userStates,
    profiles,
    itemGraph,
    checks: [
      { name: 'redis', check: () => userStates.ping() },
      { name: 'mongodb', check: () => profiles.ping() },
    ],
    init: () => profiles.init(),
    async checkEviction() {
      if (config.adapters === 'memory') return undefined;
      const client = connectRedis(config.redis);
      try {
        await client.ping();
        return await evictionVerdict(client);
      } finally {
        client.disconnect();
      }
    },
    async close() {
      await Promise.allSettled([userStates.close(), itemGraph.close(), profiles.close()]);
    },
  };
}
