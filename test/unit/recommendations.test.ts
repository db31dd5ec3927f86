/**
 * Recommendations in-process: the pure maths on small cases, then the
 * hand-worked data set through the batch applier, the in-process stores and
 * the GraphQL schema, with the store calls a request costs.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import type { KafkaMessage, Message, Producer } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Viewer } from '../../src/access/viewer.js';
import { loadConfig } from '../../src/config.js';
import type { ActivityEvent } from '../../src/features/activity.js';
import { graphDelta } from '../../src/features/cooccurrence.js';
import { recommend } from '../../src/features/recommend.js';
import { createContextFactory, type GraphQLContext } from '../../src/graphql/context.js';
import { createSubgraphSchema } from '../../src/graphql/schema.js';
import type { ItemGraphUpdate } from '../../src/contracts/item-graph-update.js';
import { BatchApplier } from '../../src/ingest/batch-applier.js';
import type { ItemGraphStore } from '../../src/stores/item-graph.js';
import { createMemoryItemGraphStore } from '../../src/stores/memory-item-graph-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import {
  EXPECTED_ALSO_BOUGHT, EXPECTED_ALSO_VIEWED, EXPECTED_RECOMMENDATIONS, EXPECTED_TRENDING, RECS_ENV, recsEvents,
} from '../support/recommendations-dataset.js';

const config = loadConfig(RECS_ENV, {});
const P = config.recommendations;
const W = config.features.weights;
const T0 = Date.UTC(2026, 10, 21, 0, 0, 0);
const HOUR = 3_600_000;
const INTERNAL: Viewer = { kind: 'internal', subject: 'test' };

const ev = (eventId: string, type: ActivityEvent['type'], itemId: string, hour: number): ActivityEvent => ({ eventId, userId: 'u', type, itemId, occurredAt: T0 + hour * HOUR });
const weights = (m: ReadonlyMap<string, number> | undefined) => Object.fromEntries(m ?? []);

describe('item graph delta', () => {
  it('pairs an item with at most K latest items: viewed both ways, a purchase from each anchor', () => {
    const before = [{ itemId: 'a', at: T0, eventId: 'pa' }, { itemId: 'b', at: T0 + HOUR, eventId: 'pb' }, { itemId: 'c', at: T0 + 2 * HOUR, eventId: 'pc' }, { itemId: 'd', at: T0 + 3 * HOUR, eventId: 'pd' }];
    const d = graphDelta([{ before, events: [ev('1', 'CLICK', 'x', 4), ev('2', 'PURCHASE', 'y', 5)], fresh: [true, true] }], W, P);
    // K = 3: a is the fourth latest and left out; for y, x has joined the latest.
    expect(weights(d.edges.get('x')?.viewed)).toEqual({ d: 2, c: 2, b: 2 });
    expect(weights(d.edges.get('d')?.viewed)).toEqual({ x: 2 });
    expect(d.edges.has('a')).toBe(false);
    expect(weights(d.edges.get('x')?.bought)).toEqual({ y: 10 });
    expect(weights(d.edges.get('d')?.bought)).toEqual({ y: 10 });
    expect(weights(d.edges.get('b')?.bought)).toEqual({});
    expect(weights(d.edges.get('y')?.bought)).toEqual({});
    expect(d.refTime).toBe(T0 + 5 * HOUR);
    expect(d.popularity.get('y')).toBe(10);
    expect(d.popularity.get('x')).toBeCloseTo(2 * 2 ** (-HOUR / P.trendingHalfLifeMs), 12);
  });

  it('ranks anchors at the same time by the greater eventId, as recent items rank', () => {
    // b and c share a time; b's stamp has the greater eventId, so with K = 3 it is an anchor and c is not.
    const before = [{ itemId: 'a', at: T0 + HOUR, eventId: 'e1' }, { itemId: 'b', at: T0, eventId: 'f1' }, { itemId: 'c', at: T0, eventId: 'e9' }, { itemId: 'd', at: T0 + 2 * HOUR, eventId: 'e0' }];
    const d = graphDelta([{ before, events: [ev('z', 'VIEW', 'x', 4)], fresh: [true] }], W, P);
    expect(weights(d.edges.get('x')?.viewed)).toEqual({ d: 1, a: 1, b: 1 });
  });

  it('adds nothing for re-sent or redelivered events, nor pairs an item with itself', () => {
    const before = [{ itemId: 'a', at: T0, eventId: 'pa' }];
    const d = graphDelta([{ before, events: [ev('1', 'VIEW', 'a', 1), ev('2', 'VIEW', 'b', 2), ev('2', 'VIEW', 'b', 2)], fresh: [true, false, false] }], W, P);
    expect([...d.edges.keys()]).toEqual([]);
    expect([...d.popularity.keys()]).toEqual(['a']);
  });
});

describe('ranking', () => {
  const list = (...xs: [string, number][]) => xs.map(([itemId, score]) => ({ itemId, score }));
  it('weighs anchors by recency, drops the user’s own items, and names the largest contribution', () => {
    const recent = [{ itemId: 'a', at: T0 + HOUR, eventId: 'pa' }, { itemId: 'b', at: T0, eventId: 'pb' }];
    const neighbours = new Map([
      ['a', { viewed: list(['x', 1], ['b', 9]), bought: list() }],
      ['b', { viewed: list(['x', 1]), bought: list(['y', 4]) }],
    ]);
    expect(recommend({ recent, neighbours, trending: list(['z', 1]) }, 10, P)).toEqual([
      { itemId: 'y', score: 2, reason: 'ALSO_BOUGHT', because: 'b' },
      { itemId: 'x', score: 1.5, reason: 'ALSO_VIEWED', because: 'a' },
    ]);
  });
  it('falls back to trending items, minus the user’s own, when the anchors give nothing', () => {
    const recent = [{ itemId: 'a', at: T0, eventId: 'pa' }];
    const out = recommend({ recent, neighbours: new Map(), trending: list(['a', 5], ['z', 3], ['w', 1]) }, 1, P);
    expect(out).toEqual([{ itemId: 'z', score: 3, reason: 'TRENDING', because: null }]);
  });
});

describe('the hand-worked data set, in-process', () => {
  let userStates: UserStateStore;
  let itemGraph: ItemGraphStore;
  let reads: number;
  let stateLoads: number;
  const sent: { topic: string; messages: Message[] }[] = [];
  let server: ApolloServer<GraphQLContext>;
  let context: (viewer: Viewer) => GraphQLContext;
  const NOW = T0 + 5 * HOUR;

  beforeAll(async () => {
    const states = createMemoryUserStateStore(config.features);
    const graph = createMemoryItemGraphStore(P);
    userStates = { ...states, loadMany: (ids, o) => (stateLoads++, states.loadMany(ids, o)) };
    itemGraph = { ...graph, read: (k, n, now) => (reads++, graph.read(k, n, now)) };
    const producer = {
      send: async (r: { topic: string; messages: Message[] }) => void sent.push(r),
      sendBatch: async (b: { topicMessages: { topic: string; messages: Message[] }[] }) => void sent.push(...b.topicMessages),
    } as unknown as Producer;
    const applier = new BatchApplier({
      store: userStates, producer, topics: config.kafka.topics, cdcTypeMap: {}, admission: config.features, instanceId: 'test', applyAttempts: 1,
      retryTopicAttempts: 1, retryBaseDelayMs: 0, sideEffects: true, graph: { store: itemGraph, params: P, weights: W }, clock: () => NOW,
    });
    // One event per batch, in order: as a partition delivers them at worst.
    for (const [i, e] of recsEvents(T0).entries()) {
      const message = { key: Buffer.from(e.userId), value: Buffer.from(JSON.stringify(e)), offset: String(i), timestamp: String(NOW), attributes: 0, headers: {} } as KafkaMessage;
      await applier.apply('activity', 0, [message], { heartbeat: async () => {}, isActive: () => true });
    }
    server = new ApolloServer<GraphQLContext>({ schema: createSubgraphSchema({ maxRepresentations: 100 }), plugins: [ApolloServerPluginInlineTraceDisabled()] });
    context = createContextFactory({ userStates, itemGraph, features: config.features, recommendations: P, maxBatchSize: 500, clock: () => NOW });
  });

  const run = async (query: string, variables: Record<string, unknown> = {}, viewer: Viewer = INTERNAL) => {
    reads = 0;
    stateLoads = 0;
    const res = await server.executeOperation({ query, variables }, { contextValue: context(viewer) });
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    return res.body.singleResult;
  };

  it('names the items whose lists changed on the item-updates topic', () => {
    const updates = sent.filter((s) => s.topic === config.kafka.topics.itemUpdates).flatMap((s) => s.messages.map((m) => JSON.parse(String(m.value)) as ItemGraphUpdate));
    // The u1 purchase of i3 changes the bought lists of its anchors i2 and i1.
    expect(updates.map((u) => [...u.items].sort())).toContainEqual(['i1', 'i2']);
    expect(updates.every((u) => u.trending)).toBe(true);
  });

  it('lists each item’s neighbours for all items in one item graph read', async () => {
    const items = Object.keys(EXPECTED_ALSO_VIEWED);
    const result = await run(`query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on Item { id alsoViewed { id } alsoBought(limit: 10) { id } } } }`, {
      reps: items.map((id) => ({ __typename: 'Item', id })),
    });
    expect(result.errors).toBeUndefined();
    const got = (result.data as { _entities: { id: string; alsoViewed: { id: string }[]; alsoBought: { id: string }[] }[] })._entities;
    expect(Object.fromEntries(got.map((i) => [i.id, i.alsoViewed.map((x) => x.id)]))).toEqual(EXPECTED_ALSO_VIEWED);
    expect(Object.fromEntries(got.map((i) => [i.id, i.alsoBought.map((x) => x.id)]))).toEqual(EXPECTED_ALSO_BOUGHT);
    expect(reads).toBe(1);
  });

  it('recommends exactly the hand-worked lists, with one state load and one item graph read for all users', async () => {
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const result = await run(`query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id recommendations(limit: 10) { item { id } score reason because { id } } } } }`, {
      reps: users.map((id) => ({ __typename: 'User', id })),
    });
    expect(result.errors).toBeUndefined();
    type Rec = { item: { id: string }; score: number; reason: string; because: { id: string } | null };
    const got = Object.fromEntries((result.data as { _entities: { id: string; recommendations: Rec[] }[] })._entities.map((u) => [u.id, u.recommendations]));
    for (const [user, expected] of Object.entries(EXPECTED_RECOMMENDATIONS)) {
      expect(got[user]!.map((r) => ({ item: r.item.id, score: r.score, reason: r.reason, because: r.because?.id ?? null }))).toEqual(expected);
    }
    const trending = got.u5!;
    expect(trending.map((r) => [r.item.id, r.reason, r.because])).toEqual(EXPECTED_TRENDING.map(([id]) => [id, 'TRENDING', null]));
    const unit = trending.at(-1)!.score;
    trending.forEach((r, i) => expect(r.score / unit).toBeCloseTo(EXPECTED_TRENDING[i]![1], 9));
    expect(stateLoads).toBe(1);
    expect(reads).toBe(1);
  });

  it('refuses a limit outside 1..max with BAD_USER_INPUT, and private lists to other users', async () => {
    const tooMany = await run(`{ _entities(representations: [{ __typename: "Item", id: "i1" }]) { ... on Item { alsoViewed(limit: ${P.maxLimit + 1}) { id } } } }`);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0]?.message).toBe(`limit must be between 1 and ${P.maxLimit}, not ${P.maxLimit + 1}`);
    const zero = await run(`{ _entities(representations: [{ __typename: "User", id: "u1" }]) { ... on User { recommendations(limit: 0) { score } } } }`);
    expect(zero.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const other = await run(`{ _entities(representations: [{ __typename: "User", id: "u1" }]) { ... on User { recommendations { score } } } }`, {}, { kind: 'user', userId: 'u2' });
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = await run(`{ _entities(representations: [{ __typename: "User", id: "u1" }]) { ... on User { recommendations(limit: 2) { item { id } } } } }`, {}, { kind: 'user', userId: 'u1' });
    expect(own.data).toEqual({ _entities: [{ recommendations: [{ item: { id: 'i5' } }, { item: { id: 'i4' } }] }] });
  });
});
