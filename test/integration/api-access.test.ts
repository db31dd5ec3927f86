/**
 * Every access rule of the subgraph over both transports, HTTP and
 * graphql-ws, with the real Redis store behind them: one policy, so one set
 * of tests run twice (fault rows 21–26 and 28). Rules only one transport has
 * (CSRF, batching) are tested on HTTP at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { JWT_SECRET, ROUTER_SECRET, startApi, token } from '../support/api-harness.js';
import { isolatedConfig } from '../support/processor-harness.js';
import { operate, TRANSPORTS, type Answer, type Transport } from '../support/transports.js';

const config = () =>
  isolatedConfig({ JWT_SECRET, ROUTER_SECRET, NODE_ENV: 'production', MAX_COST: '60', MAX_DIRECTIVES: '5', MAX_ENTITY_REPRESENTATIONS: '100', WS_MAX_PAYLOAD_BYTES: '65536' });

/** A refusal of the caller: the HTTP status, or, on a socket, graphql-ws's 4403 at connection_init. */
function expectRefused(answer: Answer, transport: Transport, status: 401 | 403, code: string) {
  expect(answer.data).toBeUndefined();
  if (transport === 'ws') return expect(answer.closeCode).toBe(4403);
  expect(answer.status).toBe(status);
  expect(answer.errors?.map((e) => e.extensions?.code)).toEqual([code]);
}

/** A request refused before execution: coded, no data, no stack, no resolver call. */
function expectInvalid(answer: Answer, code = 'GRAPHQL_VALIDATION_FAILED') {
  expect(answer.data).toBeUndefined();
  expect(answer.errors?.length).toBeGreaterThan(0);
  expect(answer.errors?.every((e) => e.extensions?.code === code)).toBe(true);
  expect(JSON.stringify(answer)).not.toMatch(/stacktrace|\.ts:\d+/);
}

describe.each(TRANSPORTS)('subgraph access rules over %s', (transport) => {
  let url: string;
  let stop: () => Promise<void>;
  let loads = 0;
  let alice: string;
  const ask = (query: string, caller: Parameters<typeof operate>[3] = {}) => operate(transport, url, query, caller);

  beforeAll(async () => {
    const c = config();
    const real = createRedisUserStateStore({ redis: connectRedis(c.redis.url, 2000), keyPrefix: c.redis.keyPrefix, params: c.features });
    const counted: UserStateStore = {
      ...real,
      loadMany: (ids) => {
        loads++;
        // An unexpected failure, of the kind no catalogue names: it must reach no client as it is.
        if (ids.includes('boom')) return Promise.reject(new Error('ECONNRESET at /srv/secret/path.ts:42'));
        return real.loadMany(ids);
      },
    };
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

  it('refuses a caller without the router secret (401) or with a forged one (403), with no data (row 21)', async () => {
    for (const query of [user('alice', 'tier'), '{ _service { sdl } }']) {
      const missing = await ask(query, { routerSecret: null, token: alice });
      expectRefused(missing, transport, 401, 'UNAUTHENTICATED');
      if (transport === 'http') expect(missing.errors?.[0]?.message).toBe('Only the router may call this subgraph.');
      expectRefused(await ask(query, { routerSecret: `${ROUTER_SECRET.slice(0, -1)}x`, token: alice }), transport, 403, 'FORBIDDEN');
    }
    const ok = await ask('{ _service { sdl } }', { token: alice });
    expect(ok.errors).toBeUndefined();
    expect(JSON.stringify(ok.data)).toMatch(/type User/);
  });

  it('refuses a bad or foreign-signed token, and one without exp in production, with 401 UNAUTHENTICATED', async () => {
    const { SignJWT } = await import('jose');
    const forever = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(Buffer.from(JWT_SECRET));
    for (const bad of ['not-a-jwt', await token('alice', undefined, 'another-secret-that-is-32-bytes-long!!'), forever]) {
      expectRefused(await ask(user('alice', 'tier'), { token: bad }), transport, 401, 'UNAUTHENTICATED');
    }
  });

  it('answers no introspection and suggests no field names in production (row 22)', async () => {
    const schema = await ask('{ __schema { types { name } } }', { token: alice });
    expectInvalid(schema);
    expect(schema.errors?.[0]?.message).toMatch(/introspection has been disabled/);
    const typo = await ask(user('alice', 'tierr'), { token: alice });
    expectInvalid(typo);
    expect(typo.errors?.[0]?.message).toBe('Cannot query field "tierr" on type "User".');
    const enumTypo = await ask(`{ _entities(representations: [{ __typename: "User", id: "alice" }]) { ... on User { features { counts(window: LAST_5, type: VIEW) { count } } } } }`, { token: alice });
    expectInvalid(enumTypo);
    expect(JSON.stringify(enumTypo)).not.toMatch(/Did you mean/);
  });

  it('refuses a query 50 levels deep, also inside a fragment named __schema, before any resolver runs (row 23)', async () => {
    const nested = `${'user { '.repeat(50)}id${' }'.repeat(50)}`;
    const before = loads;
    for (const deep of [`{ ${nested} }`, `{ ...__schema } fragment __schema on Query { ${nested} }`]) {
      const res = await ask(deep, { token: alice });
      expectInvalid(res);
      if (transport === 'http') expect(res.status).toBe(400);
      // The fragment spread counts as levels of its own.
      expect(res.errors?.some((e) => /^Syntax Error: Query depth limit of 12 exceeded, found 5[13]\.$/.test(e.message))).toBe(true);
    }
    expect(loads).toBe(before);
  });

  it('refuses 1,000 aliases (token limit), 16 aliases, a costly query and six directives (row 24)', async () => {
    const tokens = await ask(`{ ${Array.from({ length: 1_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`, { token: alice });
    expectInvalid(tokens, 'GRAPHQL_PARSE_FAILED');
    expect(tokens.errors?.[0]?.message).toMatch(/^Syntax Error: Document contains more that 2000 tokens\. Parsing aborted\.$/);
    const aliases = await ask(`{ ${Array.from({ length: 16 }, (_, i) => `a${i}: _service { sdl }`).join(' ')} }`, { token: alice });
    expectInvalid(aliases);
    expect(aliases.errors?.[0]?.message).toMatch(/Aliases limit of 15 exceeded/);
    const costly = await ask(`{ ${Array.from({ length: 10 }, (_, i) => `e${i}: _entities(representations: []) { ... on User { features { recentItems { item { id } } } } }`).join(' ')} }`, { token: alice });
    expectInvalid(costly);
    expect(costly.errors?.[0]?.message).toMatch(/Query Cost limit of 60 exceeded/);
    const directives = await ask(`{ __typename ${'@include(if: true) '.repeat(6)} }`, { token: alice });
    expectInvalid(directives);
    expect(directives.errors?.[0]?.message).toMatch(/Directives limit of 5 exceeded/);
  });

  it('caps _entities at MAX_ENTITY_REPRESENTATIONS before any read (row 25)', async () => {
    const reps = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'User', id: `u${i}` }));
    const query = `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { tier } } }`;
    const before = loads;
    const huge = await ask(query, { token: alice, variables: { reps: reps(101) } });
    expect(huge.data).toBeNull();
    expect(huge.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(loads).toBe(before);
    const most = await ask(query, { token: alice, variables: { reps: reps(100) } });
    expect((most.data as { _entities: unknown[] })._entities).toHaveLength(100);
    expect(loads).toBe(before + 1);
  });

  it('lets a user read their own features, another user’s tier, but not another user’s features (row 28)', async () => {
    const bob = await token('bob');
    expect(await ask(user('alice', 'tier features { version }'), { token: alice })).toMatchObject({ data: { _entities: [{ tier: 'BRONZE', features: { version: 0 } }] } });
    expect((await ask(user('alice', 'tier activityScore'), { token: bob })).data).toEqual({ _entities: [{ tier: 'BRONZE', activityScore: 0 }] });
    const theirs = await ask(user('alice', 'features { version recentItems { at } }'), { token: bob });
    expect(theirs.data).toEqual({ _entities: [null] });
    expect(theirs.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const internal = await ask(user('alice', 'features { version }'), { token: await token('search-indexer', 'activity:read:any') });
    expect(internal.data).toEqual({ _entities: [{ features: { version: 0 } }] });
    if (transport === 'http') {
      const anonymous = await ask(user('alice', 'tier'));
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } else {
      // A socket needs a signed-in viewer to open at all.
      expect((await ask(user('alice', 'tier'))).closeCode).toBe(4403);
    }
  });

  it('masks an unexpected resolver error: a generic coded error, no message, no stack', async () => {
    const res = await ask(user('boom', 'tier'), { token: alice });
    expect(res.data).toEqual({ _entities: [null] });
    expect(res.errors).toEqual([{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, path: ['_entities', 0, 'tier'] }]);
  });
});

describe('HTTP-only rules', () => {
  let url: string;
  let stop: () => Promise<void>;
  const metrics = createMetrics();
  beforeAll(async () => {
    const c = config();
    const store = createRedisUserStateStore({ redis: connectRedis(c.redis.url, 2000), keyPrefix: c.redis.keyPrefix, params: c.features });
    const api = await startApi(c, store, undefined, { metrics });
    url = api.url;
    stop = async () => {
      await api.stop();
      await store.close();
    };
  });
  afterAll(() => stop());

  it('refuses a JSON array of operations (no batching), and a malformed body with a coded 400, no stack', async () => {
    const headers = { 'content-type': 'application/json', 'router-authorization': ROUTER_SECRET };
    const batch = await fetch(url, { method: 'POST', headers, body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]) });
    expect(batch.status).toBe(400);
    const malformed = await fetch(url, { method: 'POST', headers, body: '{"query": ' });
    expect(malformed.status).toBe(400);
    const body = await malformed.text();
    expect(JSON.parse(body)).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    expect(body).not.toMatch(/at .*\(|node_modules/);
  });

  it('refuses a body over 1 MB with a coded 413 and goes on serving', async () => {
    const headers = { 'content-type': 'application/json', 'router-authorization': ROUTER_SECRET };
    const big = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } }) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    const next = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(await next.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('adds no metric series for 10,000 requests to random paths (row 37)', async () => {
    // The service's own series; Node's default ones (GC kinds, heap spaces) appear as the process runs, whatever it serves.
    const series = async () => (await metrics.registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('uas_')).reduce((n, m) => n + m.values.length, 0);
    const base = url.replace(/\/graphql$/, '');
    const random = (i: number) => `${i % 2 ? '' : '/graphql'}/${Math.random().toString(36).slice(2)}/${i}`;
    const hit = (i: number) => fetch(`${base}${random(i)}`, { method: i % 3 ? 'GET' : 'POST' }).then((r) => r.arrayBuffer());
    // The first of each kind (a 404 elsewhere, a 401 under /graphql, by GET and by POST) may add its series.
    await Promise.all([0, 1, 2, 3, 4, 5].map(hit));
    const before = await series();
    for (let i = 0; i < 10_000; i += 200) await Promise.all(Array.from({ length: 200 }, (_, j) => hit(i + j)));
    expect(await series()).toBe(before);
    const requests = (await metrics.httpRequests.get()).values;
    for (const v of requests) expect(['/graphql', '/health/live', '/health/ready', 'other']).toContain(v.labels.route);
    expect(requests.filter((v) => v.labels.route === 'other').reduce((n, v) => n + v.value, 0)).toBe(10_006);
  });

  it('blocks a CSRF-style GET and a text/plain POST (row 26)', async () => {
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
});
