/**
 * `_entities` with 100 users costs one Redis round trip: counted on a private
 * redis-server (commands received) and on the client's socket (writes).
 */
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/features/activity.js';
import { createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { JWT_SECRET, post, ROUTER_SECRET, startApi, token } from '../support/api-harness.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { isolatedConfig } from '../support/processor-harness.js';
import { delivered } from '../support/events.js';

describe('entity resolution cost on a real Redis', () => {
  let redis: PrivateRedis;
  let probe: Redis;
  let client: Redis;
  let writes = 0;
  let url: string;
  let stopApi: () => Promise<void>;
  const config = isolatedConfig({ JWT_SECRET, ROUTER_SECRET, MAX_ENTITY_REPRESENTATIONS: '100' });

  beforeAll(async () => {
    redis = await startPrivateRedis();
    probe = new Redis(redis.url);
    client = new Redis(redis.url);
    await once(client, 'ready');
    // Count what the store's connection sends: one write per round trip.
    const stream = (client as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const write = stream.write.bind(stream);
    stream.write = (...args: unknown[]) => (writes++, write(...args));
    const store = createRedisUserStateStore({ redis: client, keyPrefix: config.redis.keyPrefix, params: config.features });
    const events: ActivityEvent[] = Array.from({ length: 100 }, (_, i) => ({ eventId: `e${i}`, userId: `u${i}`, type: 'VIEW', itemId: `i${i}`, occurredAt: Date.now() - i }));
    await store.applyEvents(delivered(events, Date.now()), Date.now());
    const api = await startApi(config, store);
    url = api.url;
    stopApi = async () => {
      await api.stop();
      await store.close();
    };
  });
  afterAll(async () => {
    await stopApi();
    probe.disconnect();
    await redis.stop();
  });

  const query = `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id activityScore tier features { version lastViewedItem { id } counts(window: LAST_5M, type: VIEW) { count } } } } }`;
  const scoreQuery = `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id activityScore tier features { version } } } }`;
  const reps = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'User', id: `u${i}` }));

  async function commands(): Promise<Record<string, number>> {
    const info = await probe.info('commandstats');
    return Object.fromEntries([...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  }

  it('answers 100 User representations with one pipelined round trip of 5 reads per user', async () => {
    const internal = await token('indexer', 'activity:read:any');
    await probe.config('RESETSTAT');
    writes = 0;
    const res = await post(url, query, { variables: { reps: reps(100) }, token: internal });
    const received = await commands();
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const users = (res.body.data as { _entities: { id: string; features: { version: number; lastViewedItem: { id: string } } }[] })._entities;
    expect(users).toHaveLength(100);
    expect(users[42]).toMatchObject({ id: 'u42', features: { version: 1, lastViewedItem: { id: 'i42' }, counts: [{ count: 1 }] } });
    expect(writes).toBe(1);
    // What the server received besides our own INFO/CONFIG probes: exactly one batch.
    const reads = Object.fromEntries(Object.entries(received).filter(([command]) => command !== 'info' && command !== 'config'));
    expect(reads).toEqual({ hgetall: 300, zrange: 200 });
  });

  it('reads only each user’s state hash, still in one round trip, when no collection field is asked for', async () => {
    await probe.config('RESETSTAT');
    writes = 0;
    const res = await post(url, scoreQuery, { variables: { reps: reps(100) }, token: await token('indexer', 'activity:read:any') });
    expect(res.body.errors).toBeUndefined();
    const reads = Object.fromEntries(Object.entries(await commands()).filter(([command]) => command !== 'info' && command !== 'config'));
    expect(reads).toEqual({ hgetall: 100 });
    expect(writes).toBe(1);
  });

  it('refuses a request over the cap with BAD_USER_INPUT and sends Redis nothing', async () => {
    const internal = await token('indexer', 'activity:read:any');
    writes = 0;
    const res = await post(url, query, { variables: { reps: reps(101) }, token: internal });
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(writes).toBe(0);
  });
});
