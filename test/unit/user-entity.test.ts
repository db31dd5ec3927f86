import { ApolloServer } from '@apollo/server';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import { createContextFactory, type GraphQLContext } from '../../src/graphql/context.js';
import { createSubgraphSchema } from '../../src/graphql/schema.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;
const features = loadConfig({}, {}).features;

const ENTITIES = `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id activityScore tier } } }`;

describe('User entity', () => {
  let store: UserStateStore;
  let loads: string[][];
  let server: ApolloServer<GraphQLContext>;
  let context: () => Promise<GraphQLContext>;

  beforeEach(async () => {
    const memory = createMemoryUserStateStore(features);
    loads = [];
    store = { ...memory, loadMany: (ids) => (loads.push([...ids]), memory.loadMany(ids)) };
    server = new ApolloServer<GraphQLContext>({ schema: createSubgraphSchema() });
    context = createContextFactory({ userStates: store, features, maxBatchSize: 500, clock: () => NOW });
  });

  const entities = async (ids: string[]) => {
    const reps = ids.map((id) => ({ __typename: 'User', id }));
    const res = await server.executeOperation({ query: ENTITIES, variables: { reps } }, { contextValue: await context() });
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    return res.body.singleResult;
  };

  it('resolves an unknown user to score 0 and BRONZE, never null or an error', async () => {
    const result = await entities(['ghost']);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ _entities: [{ id: 'ghost', activityScore: 0, tier: 'BRONZE' }] });
  });

  it('decays the stored sum to the request time', async () => {
    // S = 100 seven days ago (one half-life) → 50 now → 100·(1 − e^(−50/50)) ≈ 63.2, SILVER.
    await store.restore('u1', { state: { ...DEFAULT_USER_STATE, version: 3, scoreSum: 100, scoreRefTime: NOW - 7 * DAY }, seen: {} });
    await store.restore('vip', { state: { ...DEFAULT_USER_STATE, version: 1, vip: true }, seen: {} });
    const result = await entities(['u1', 'vip']);
    const [u1, vip] = (result.data as { _entities: { activityScore: number; tier: string }[] })._entities;
    expect(u1!.activityScore).toBeCloseTo(100 * (1 - Math.exp(-1)), 9);
    expect(u1!.tier).toBe('SILVER');
    expect(vip).toMatchObject({ activityScore: 0, tier: 'GOLD' });
  });

  it('loads every User of one request in a single store call', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `u${i}`);
    const result = await entities(ids);
    expect(result.errors).toBeUndefined();
    expect(loads).toHaveLength(1);
    expect(loads[0]).toEqual(ids);
  });

  it('publishes a Federation 2 SDL that keys User by id', async () => {
    const res = await server.executeOperation({ query: '{ _service { sdl } }' }, { contextValue: await context() });
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    const sdl = (res.body.singleResult.data as { _service: { sdl: string } })._service.sdl;
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
  });
});
