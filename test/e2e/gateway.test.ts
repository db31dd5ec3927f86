/**
 * Through a real gateway (@graphql-hive/gateway-runtime) composed with the
 * example legacy subgraph: a client reads the legacy user's username together
 * with the score, tier and features the processor wrote from Kafka, and the
 * item lists and recommendations it derived.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/features/activity.js';
import { viewOf } from '../../src/features/view.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { createProcessor } from '../../src/ingest/processor.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedisItemGraphStore } from '../../src/stores/redis-item-graph-store.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { JWT_SECRET, ROUTER_SECRET, token } from '../support/api-harness.js';
import { query, sseSubscribe, startSupergraph } from '../support/gateway.js';
import { startLiveApi, type LiveApi } from '../support/live.js';
import { waitFor } from '../support/wait-for.js';
import { isolatedConfig, produce, toMessage, waitCaughtUp } from '../support/processor-harness.js';

describe('the supergraph through a real gateway', () => {
  const config = isolatedConfig({ JWT_SECRET, ROUTER_SECRET });
  const cleanup: (() => Promise<void>)[] = [];
  let store: UserStateStore;
  let gatewayUrl: string;
  let api: LiveApi;

  beforeAll(async () => {
    const logger = createLogger('silent');
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 2000), keyPrefix: config.redis.keyPrefix, params: config.features });
    const itemGraph = createRedisItemGraphStore({ redis: connectRedis(config.redis.url, 2000), keyPrefix: config.redis.keyPrefix, params: config.recommendations });
    const processor = createProcessor({ kafka, store, itemGraph, config, logger });
    await processor.start();
    api = await startLiveApi(config);
    const supergraph = await startSupergraph(api.url);
    gatewayUrl = supergraph.url;
    cleanup.push(() => store.close(), () => itemGraph.close(), () => processor.stop(), () => api.stop(), () => supergraph.stop());

    const now = Date.now();
    const events: ActivityEvent[] = [
      { eventId: 'g1', userId: 'u1', type: 'VIEW', itemId: 'sku-9', category: 'books', occurredAt: now - 20_000 },
      { eventId: 'g2', userId: 'u1', type: 'PURCHASE', itemId: 'sku-9', category: 'books', occurredAt: now - 10_000 },
      { eventId: 'g3', userId: 'u1', type: 'CLICK', itemId: 'sku-4', occurredAt: now - 5_000 },
      { eventId: 'g4', userId: 'u2', type: 'LOGIN', occurredAt: now - 1_000 },
    ];
    await produce(kafka, config.kafka.topics.activity, events.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);
    produceOne = (e) => produce(kafka, config.kafka.topics.activity, [toMessage(e)]);
    produceMany = (es) => produce(kafka, config.kafka.topics.activity, es.map(toMessage));
  });
  let produceOne: (e: ActivityEvent) => Promise<void>;
  let produceMany: (es: ActivityEvent[]) => Promise<void>;
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it('joins the legacy username with the score, tier and features the processor wrote for u1', async () => {
    const sent = Date.now();
    const result = await query(
      gatewayUrl,
      `{ user(id: "u1") { username email activityScore tier features { version lastViewedItem { id } counts(window: LAST_5M) { type count } } } }`,
      await token('u1'),
    );
    expect(result.errors).toBeUndefined();
    const user = (result.data as { user: { username: string; activityScore: number; tier: string; features: { version: number; lastViewedItem: { id: string }; counts: { type: string; count: number }[] } } }).user;
    const answered = Date.now();
    const [state] = await store.loadMany(['u1']);
    // The score decays while the request travels: it lies between its values at both ends.
    const expected = viewOf(state!, sent, config.features);
    expect(user.username).toBe('user1');
    expect(user.activityScore).toBeGreaterThan(0);
    expect(user.activityScore).toBeLessThanOrEqual(expected.activityScore);
    expect(user.activityScore).toBeGreaterThanOrEqual(viewOf(state!, answered, config.features).activityScore);
    expect(user.tier).toBe(expected.tier);
    expect(user.features.version).toBe(state!.version);
    expect(user.features.lastViewedItem).toEqual({ id: 'sku-9' });
    const counts = Object.fromEntries(user.features.counts.map((c) => [c.type, c.count]));
    expect(counts).toMatchObject({ VIEW: 1, PURCHASE: 1, CLICK: 1, LOGIN: 0 });
  });

  it('serves item lists and recommendations through the gateway', async () => {
    // u1's click on sku-4 paired it with sku-9; u2 (a login only) gets trending items: sku-9 (11), sku-4 (2).
    const u1 = await query(gatewayUrl, `{ user(id: "u1") { features { lastViewedItem { id alsoViewed { id } } } } }`, await token('u1'));
    expect(u1.errors).toBeUndefined();
    expect(u1.data).toEqual({ user: { features: { lastViewedItem: { id: 'sku-9', alsoViewed: [{ id: 'sku-4' }] } } } });
    const u2 = await query(gatewayUrl, `{ user(id: "u2") { username recommendations { item { id } reason because { id } } } }`, await token('u2'));
    expect(u2.errors).toBeUndefined();
    expect(u2.data).toEqual({
      user: { username: 'user2', recommendations: [{ item: { id: 'sku-9' }, reason: 'TRENDING', because: null }, { item: { id: 'sku-4' }, reason: 'TRENDING', because: null }] },
    });
  });

  it('carries a subscription through the gateway, with the legacy username beside the live fields', async () => {
    type Event = { data?: { userActivityChanged: { username: string; tier: string; activityScore: number; features: { version: number } } } };
    const sub = sseSubscribe(
      gatewayUrl,
      `subscription { userActivityChanged(userId: "u1") { username tier activityScore features { version } } }`,
      await token('u1'),
    );
    try {
      await waitFor(() => sub.events.length >= 1, { timeoutMs: 20_000, what: 'the snapshot through the gateway' });
      const first = (sub.events[0] as Event).data!.userActivityChanged;
      expect(first.username).toBe('user1');
      await produceOne({ eventId: 'g5', userId: 'u1', type: 'PURCHASE', itemId: 'sku-1', occurredAt: Date.now() });
      await waitFor(() => sub.events.length >= 2, { timeoutMs: 20_000, what: 'the update through the gateway' });
      const next = (sub.events[1] as Event).data!.userActivityChanged;
      expect(next.username).toBe('user1');
      expect(next.features.version).toBeGreaterThan(first.features.version);
      expect(next.activityScore).toBeGreaterThan(first.activityScore);
    } finally {
      sub.close();
    }
  });

  it('carries 500 subscriptions with one internal token on the gateway’s one upstream socket, and pushes to every one', async () => {
    type Event = { data?: { userActivityChanged: { id: string; features: { version: number } } }; errors?: unknown[] };
    const sockets = async () => (await api.metrics.live.sockets.get()).values[0]?.value ?? 0;
    const internal = await token('storefront-backend', 'activity:read:any');
    const users = Array.from({ length: 500 }, (_, i) => `fan-${i}`);
    const open = (u: string) => sseSubscribe(gatewayUrl, `subscription { userActivityChanged(userId: "${u}") { id features { version } } }`, internal);
    // The first opens the gateway's upstream socket for these credentials; the others share it.
    const subs = [open(users[0]!)];
    const versions = (i: number) => (subs[i]!.events as Event[]).map((e) => e.data?.userActivityChanged.features.version ?? -1);
    try {
      await waitFor(() => subs[0]!.events.length >= 1, { timeoutMs: 20_000, what: 'the first snapshot through the gateway' });
      const socketsWithOne = await sockets();
      subs.push(...users.slice(1).map(open));
      await waitFor(() => subs.every((s) => s.events.length >= 1), { timeoutMs: 60_000, intervalMs: 100, what: '500 snapshots through the gateway' });
      expect(users.filter((_, i) => versions(i)[0] !== 0)).toEqual([]);
      // No new socket upstream for the other 499: they share the first one, far past a client socket's cap of 100.
      // (An earlier test's socket may close meanwhile.)
      const socketsWithAll = await sockets();
      expect(socketsWithAll).toBeGreaterThanOrEqual(1);
      expect(socketsWithAll).toBeLessThanOrEqual(socketsWithOne);
      const now = Date.now();
      await produceMany(users.map((userId, i) => ({ eventId: `fan-${i}`, userId, type: 'VIEW', itemId: `sku-${i % 7}`, occurredAt: now })));
      await waitFor(() => subs.every((s) => s.events.length >= 2), { timeoutMs: 60_000, intervalMs: 100, what: '500 pushes through the gateway' });
      expect(users.filter((_, i) => versions(i)[1] !== 1)).toEqual([]);
    } finally {
      for (const s of subs) s.close();
    }
  }, 150_000);

  it('applies the subgraph’s own access rules behind the gateway', async () => {
    const asU2 = await query(gatewayUrl, `{ user(id: "u1") { username tier features { version } } }`, await token('u2'));
    expect(asU2.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    const anonymous = await query(gatewayUrl, `{ user(id: "u1") { username tier } }`);
    expect(anonymous.errors?.map((e) => e.extensions?.code)).toContain('UNAUTHENTICATED');
    const bare = await query(gatewayUrl, `{ user(id: "u2") { username } }`);
    expect(bare).toEqual({ data: { user: { username: 'user2' } } });
  });
});
