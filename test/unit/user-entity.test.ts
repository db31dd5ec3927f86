import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Viewer } from '../../src/access/viewer.js';
import { loadConfig } from '../../src/config.js';
import type { ActivityEvent } from '../../src/features/activity.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import { createContextFactory, type GraphQLContext } from '../../src/graphql/context.js';
import { createSubgraphSchema } from '../../src/graphql/schema.js';
import { createMemoryItemGraphStore } from '../../src/stores/memory-item-graph-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { delivered } from '../support/events.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const { features, recommendations } = loadConfig({}, {});
const INTERNAL: Viewer = { kind: 'internal', subject: 'test' };

const ENTITIES = `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id activityScore tier } } }`;

describe('User entity', () => {
  let store: UserStateStore;
  let loads: string[][];
  let server: ApolloServer<GraphQLContext>;
  let context: (viewer: Viewer) => GraphQLContext;

  beforeEach(async () => {
    const memory = createMemoryUserStateStore(features);
    loads = [];
    store = { ...memory, loadMany: (ids) => (loads.push([...ids]), memory.loadMany(ids)) };
    server = new ApolloServer<GraphQLContext>({ schema: createSubgraphSchema({ maxRepresentations: 150 }), plugins: [ApolloServerPluginInlineTraceDisabled()] });
    context = createContextFactory({
      userStates: store,
      itemGraph: createMemoryItemGraphStore(recommendations),
      features,
      recommendations,
      maxBatchSize: 500,
      clock: () => NOW,
    });
  });

  const run = async (query: string, variables: Record<string, unknown> = {}, viewer: Viewer = INTERNAL) => {
    const res = await server.executeOperation({ query, variables }, { contextValue: context(viewer) });
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    return res.body.singleResult;
  };
  const entities = (ids: string[], viewer?: Viewer) => run(ENTITIES, { reps: ids.map((id) => ({ __typename: 'User', id })) }, viewer);

  it('resolves an unknown user to score 0, BRONZE and empty features, never null or an error', async () => {
    const result = await run(`{ _entities(representations: [{ __typename: "User", id: "ghost" }]) { ... on User {
      id activityScore tier features { version asOf isStale lastActivity { type } lastViewedItem { id } recentItems { at } topCategories { category } counts(window: LAST_5M, type: VIEW) { count } }
    } } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      _entities: [{
        id: 'ghost', activityScore: 0, tier: 'BRONZE',
        features: { version: 0, asOf: null, isStale: false, lastActivity: null, lastViewedItem: null, recentItems: [], topCategories: [], counts: [{ count: 0 }] },
      }],
    });
  });

  it('decays the stored sum to the request time and lifts a VIP to GOLD', async () => {
    // S = 100 seven days ago (one half-life) → 50 now → 100·(1 − e^(−50/50)) ≈ 63.2, SILVER.
    await store.restore('u1', { state: { ...DEFAULT_USER_STATE, version: 3, scoreSum: 100, scoreRefTime: NOW - 7 * DAY }, seen: '', offsets: {} });
    await store.restore('vip', { state: { ...DEFAULT_USER_STATE, version: 1, vip: true }, seen: '', offsets: {} });
    const result = await entities(['u1', 'vip']);
    const [u1, vip] = (result.data as { _entities: { activityScore: number; tier: string }[] })._entities;
    expect(u1!.activityScore).toBeCloseTo(100 * (1 - Math.exp(-1)), 9);
    expect(u1!.tier).toBe('SILVER');
    expect(vip).toMatchObject({ activityScore: 0, tier: 'GOLD' });
  });

  it('serves the live features the processor wrote', async () => {
    const e = (id: string, type: ActivityEvent['type'], at: number, extra: Partial<ActivityEvent> = {}): ActivityEvent =>
      ({ eventId: id, userId: 'u2', type, occurredAt: at, ...extra });
    await store.applyEvents(delivered([
      e('1', 'VIEW', NOW - 10_000, { itemId: 'i1', category: 'books' }),
      e('2', 'PURCHASE', NOW - 5_000, { itemId: 'i2', category: 'games' }),
      e('3', 'LOGIN', NOW - 2 * 3_600_000),
    ], NOW), NOW);
    const result = await run(`{ _entities(representations: [{ __typename: "User", id: "u2" }]) { ... on User { features {
      version asOf lastActivity { type at } lastViewedItem { id } lastViewedAt
      counts(window: LAST_1H) { type count } recentItems { item { id } at } topCategories { category }
    } } } }`);
    expect(result.errors).toBeUndefined();
    const f = (result.data as { _entities: [{ features: Record<string, unknown> }] })._entities[0].features;
    expect(f).toMatchObject({
      version: 1,
      asOf: new Date(NOW).toISOString(),
      lastActivity: { type: 'PURCHASE', at: new Date(NOW - 5_000).toISOString() },
      lastViewedItem: { id: 'i1' },
      lastViewedAt: new Date(NOW - 10_000).toISOString(),
      recentItems: [{ item: { id: 'i2' }, at: new Date(NOW - 5_000).toISOString() }, { item: { id: 'i1' }, at: new Date(NOW - 10_000).toISOString() }],
      topCategories: [{ category: 'games' }, { category: 'books' }],
    });
    const counts = Object.fromEntries((f.counts as { type: string; count: number }[]).map((c) => [c.type, c.count]));
    expect(counts).toMatchObject({ VIEW: 1, PURCHASE: 1, LOGIN: 0, CLICK: 0 });
  });

  it('loads every User of one request in a single store call', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `u${i}`);
    const result = await entities(ids);
    expect(result.errors).toBeUndefined();
    expect(loads).toEqual([ids]);
  });

  it('refuses more representations than the cap with BAD_USER_INPUT, loading nothing', async () => {
    const result = await entities(Array.from({ length: 151 }, (_, i) => `u${i}`));
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toMatch(/at most 150 representations, not 151/);
    expect(loads).toEqual([]);
  });

  it('shows score and tier to signed-in users, features only to the user or an internal caller', async () => {
    const q = `{ _entities(representations: [{ __typename: "User", id: "alice" }]) { ... on User { tier features { version } } } }`;
    const anonymous = await run(q, {}, { kind: 'anonymous' });
    expect(anonymous.errors?.length).toBeGreaterThan(0);
    expect(new Set(anonymous.errors?.map((e) => e.extensions?.code))).toEqual(new Set(['UNAUTHENTICATED']));
    expect(anonymous.data).toEqual({ _entities: [null] });
    const bob = await run(q, {}, { kind: 'user', userId: 'bob' });
    expect(bob.errors?.map((e) => [e.path?.join('.'), e.extensions?.code])).toEqual([['_entities.0.features', 'FORBIDDEN']]);
    expect(bob.data).toEqual({ _entities: [null] });
    const alice = await run(q, {}, { kind: 'user', userId: 'alice' });
    expect(alice.errors).toBeUndefined();
    expect(alice.data).toEqual({ _entities: [{ tier: 'BRONZE', features: { version: 0 } }] });
    const bobScore = await run(`{ _entities(representations: [{ __typename: "User", id: "alice" }]) { ... on User { tier } } }`, {}, { kind: 'user', userId: 'bob' });
    expect(bobScore.errors).toBeUndefined();
  });

  it('publishes a Federation 2 SDL that keys User and Item by id', async () => {
    const result = await run('{ _service { sdl } }');
    const sdl = (result.data as { _service: { sdl: string } })._service.sdl;
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type Item\s+@key\(fields: "id"\)/);
  });
});
