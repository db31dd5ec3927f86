/**
 * Every access rule of the subgraph, over real HTTP, with the real Redis
 * store behind it: one test per rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { JWT_SECRET, post, ROUTER_SECRET, startApi, token } from '../support/api-harness.js';
import { isolatedConfig } from '../support/processor-harness.js';

const config = () => isolatedConfig({ JWT_SECRET, ROUTER_SECRET, INTROSPECTION: 'false', NODE_ENV: 'production' });

describe('subgraph access rules over HTTP', () => {
  let url: string;
  let stop: () => Promise<void>;
  let loads = 0;
  let alice: string;

  beforeAll(async () => {
    const c = config();
    const real = createRedisUserStateStore({ redis: connectRedis(c.redis.url, 2000), keyPrefix: c.redis.keyPrefix, params: c.features });
    const counted: UserStateStore = { ...real, loadMany: (ids) => (loads++, real.loadMany(ids)) };
    const api = await startApi(c, counted);
    url = api.url;
    stop = async () => {
      await api.stop();
      await real.close();
    };
    alice = await token('alice');
  });
  afterAll(() => stop());

  const user = (id: string, fields: string) => `{ _entities(representations: [{ __typename: "User", id: "${id}" }]) { ... on User { ${fields} } } }`;

  it('refuses a caller without the router secret (401) or with a forged one (403), with no data', async () => {
    for (const query of [user('alice', 'tier'), '{ _service { sdl } }']) {
      const missing = await post(url, query, { routerSecret: null, token: alice });
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({ errors: [{ message: 'Only the router may call this subgraph.', extensions: { code: 'UNAUTHENTICATED' } }] });
      const forged = await post(url, query, { routerSecret: `${ROUTER_SECRET.slice(0, -1)}x`, token: alice });
      expect(forged.status).toBe(403);
      expect(forged.body.data).toBeUndefined();
      expect(forged.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const ok = await post(url, '{ _service { sdl } }');
    expect(ok.status).toBe(200);
  });

  it('refuses a bad or foreign-signed token with 401 UNAUTHENTICATED', async () => {
    for (const bad of ['not-a-jwt', await token('alice', undefined, 'another-secret-that-is-32-bytes-long!!')]) {
      const res = await post(url, user('alice', 'tier'), { token: bad });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.body.data).toBeUndefined();
    }
  });

  it('answers no introspection and suggests no field names where introspection is off', async () => {
    const schema = await post(url, '{ __schema { types { name } } }', { token: alice });
    expect(schema.body.data).toBeUndefined();
    expect(schema.body.errors?.[0]?.message).toMatch(/introspection/i);
    const typo = await post(url, user('alice', 'tierr'), { token: alice });
    expect(typo.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(typo.body)).not.toMatch(/Did you mean/);
  });

  it('refuses a query 50 levels deep before any resolver runs', async () => {
    // No valid query is this deep in this schema; the limit must refuse it before field validation matters.
    const deep = `{ ${'user { '.repeat(50)}id${' }'.repeat(50)} }`;
    const before = loads;
    const res = await post(url, deep, { token: alice });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors?.every((e) => e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
    expect(res.body.errors?.map((e) => e.message)).toContain('Syntax Error: Query depth limit of 12 exceeded, found 51.');
    expect(loads).toBe(before);
  });

  it('refuses 10,000 aliases, and a JSON array of operations', async () => {
    const aliases = `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const res = await post(url, aliases, { token: alice });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toEqual([{ message: 'Syntax Error: Token limit of 2000 exceeded.', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }]);
    const fewer = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: _service { sdl }`).join(' ')} }`; // armor allows any number of __typename aliases
    const aliasLimit = await post(url, fewer, { token: alice });
    expect(aliasLimit.status).toBe(400);
    expect(aliasLimit.body.errors?.[0]?.message).toMatch(/Aliases limit of 15 exceeded/);

    const batch = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'router-authorization': ROUTER_SECRET },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(batch.status).toBe(400);
  });

  it('blocks a CSRF-style GET and a text/plain POST', async () => {
    const get = await fetch(`${url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { 'router-authorization': ROUTER_SECRET } });
    expect(get.status).toBe(400);
    expect(await get.text()).toMatch(/blocked as a potential Cross-Site Request Forgery/);
    const plain = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'router-authorization': ROUTER_SECRET },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(plain.status).toBe(400);
  });

  it('lets a user read their own features, another user’s tier, but not another user’s features', async () => {
    const bob = await token('bob');
    const own = await post(url, user('alice', 'tier features { version }'), { token: alice });
    expect(own.body).toEqual({ data: { _entities: [{ tier: 'BRONZE', features: { version: 0 } }] } });
    const tier = await post(url, user('alice', 'tier activityScore'), { token: bob });
    expect(tier.body).toEqual({ data: { _entities: [{ tier: 'BRONZE', activityScore: 0 }] } });
    const theirs = await post(url, user('alice', 'features { version recentItems { at } }'), { token: bob });
    expect(theirs.body.data).toEqual({ _entities: [null] });
    expect(theirs.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(theirs.body)).not.toMatch(/stacktrace|at .*\.ts:\d+/);
    const internal = await post(url, user('alice', 'features { version }'), { token: await token('search-indexer', 'activity:read:any') });
    expect(internal.body).toEqual({ data: { _entities: [{ features: { version: 0 } }] } });
    const anonymous = await post(url, user('alice', 'tier'));
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
