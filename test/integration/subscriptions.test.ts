/**
 * Live subscriptions on real Kafka and Redis: the processor writes, every API
 * instance hears the update on user-feature-updates and pushes over graphql-ws.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureUpdateMessage } from '../../src/contracts/feature-update.js';
import type { ActivityEvent } from '../../src/features/activity.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { createProcessor } from '../../src/ingest/processor.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { JWT_SECRET, ROUTER_SECRET, token } from '../support/api-harness.js';
import { startLiveApi, subscribe, wsClient, type LiveApi } from '../support/live.js';
import { isolatedConfig, produce, toMessage } from '../support/processor-harness.js';
import { waitFor } from '../support/wait-for.js';
import { delivered } from '../support/events.js';

type Changed = { userActivityChanged: { id: string; activityScore: number; tier: string; features: { version: number } } };
const QUERY = `subscription ($id: ID!, $since: Int) { userActivityChanged(userId: $id, since: $since) { id activityScore tier features { version } } }`;

describe('subscriptions on real Kafka and Redis', () => {
  const config = isolatedConfig({ JWT_SECRET, ROUTER_SECRET });
  const cleanup: (() => Promise<void>)[] = [];
  let kafka: ReturnType<typeof createKafka>;
  let store: UserStateStore;
  let a: LiveApi;
  let b: LiveApi;
  let n = 0;

  /** Produces one event for `userId` and waits until the processor has applied it. */
  async function act(userId: string, type: ActivityEvent['type'] = 'PURCHASE'): Promise<number> {
    const [before] = await store.loadMany([userId]);
    const event: ActivityEvent = { eventId: `live-${n++}`, userId, type, itemId: `item-${n}`, occurredAt: Date.now() };
    await produce(kafka, config.kafka.topics.activity, [toMessage(event)]);
    let version = 0;
    await waitFor(async () => ((version = (await store.loadMany([userId]))[0]?.version ?? 0) > (before?.version ?? 0)), { what: `${userId}'s event applied` });
    return version;
  }

  beforeAll(async () => {
    const logger = createLogger('silent');
    kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 2000), keyPrefix: config.redis.keyPrefix, params: config.features });
    const processor = createProcessor({ kafka, store, config, logger });
    await processor.start();
    a = await startLiveApi(config);
    b = await startLiveApi(config);
    cleanup.push(() => store.close(), () => processor.stop(), () => a.stop(), () => b.stop());
  });
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it('sends the current state first, then the new score after an event, to subscribers on two instances', async () => {
    const alice = await token('alice');
    const onA = wsClient(a.wsUrl, { authorization: `Bearer ${alice}` });
    const onB = wsClient(b.wsUrl, { authorization: `Bearer ${alice}` });
    const first = subscribe<Changed>(onA.client, QUERY, { id: 'alice' });
    const second = subscribe<Changed>(onB.client, QUERY, { id: 'alice' });
    await first.count(1);
    await second.count(1);
    expect(first.events[0]!.userActivityChanged).toMatchObject({ id: 'alice', activityScore: 0, tier: 'BRONZE', features: { version: 0 } });

    const sent = Date.now();
    const version = await act('alice');
    await first.count(2);
    await second.count(2);
    const latency = Date.now() - sent;
    process.stdout.write(`[subscriptions] event produced → pushed to both instances' subscribers in ${latency} ms\n`);
    for (const r of [first, second]) {
      const last = r.events.at(-1)!.userActivityChanged;
      expect(last.features.version).toBe(version);
      expect(last.activityScore).toBeGreaterThan(0);
    }
    expect((await a.metrics.live.pushes.get()).values.find((v) => v.labels.field === 'userActivityChanged')?.value).toBeGreaterThanOrEqual(2);
    await onA.client.dispose();
    await onB.client.dispose();
  });

  it('resumes with `since`: after missing five updates, the newest state once, then later changes', async () => {
    const bob = await token('bob');
    const first = wsClient(a.wsUrl, { authorization: `Bearer ${bob}` });
    const live = subscribe<Changed>(first.client, QUERY, { id: 'bob' });
    const [snapshot] = await live.count(1);
    const seen = snapshot!.userActivityChanged.features.version;
    await first.client.dispose();

    let missed = 0;
    for (let i = 0; i < 5; i++) missed = await act('bob', 'CLICK');

    const again = wsClient(a.wsUrl, { authorization: `Bearer ${bob}` });
    const resumed = subscribe<Changed>(again.client, QUERY, { id: 'bob', since: seen });
    await resumed.count(1);
    const later = await act('bob');
    await resumed.count(2);
    expect(resumed.events.map((e) => e.userActivityChanged.features.version)).toEqual([missed, later]);

    const caughtUp = subscribe<Changed>(again.client, QUERY, { id: 'bob', since: later });
    const after = await act('bob');
    await caughtUp.count(1);
    expect(caughtUp.events.map((e) => e.userActivityChanged.features.version)).toEqual([after]);
    await again.client.dispose();
  });

  it('refuses a socket without a token, with a bad token, or without the router secret (4403)', async () => {
    for (const params of [{}, { authorization: 'Bearer nope' }, { authorization: `Bearer ${await token('carol')}`, 'router-authorization': 'wrong-secret-value-x' }]) {
      const { client, closed } = wsClient(a.wsUrl, params);
      const events = subscribe<Changed>(client, QUERY, { id: 'carol' });
      expect((await closed).code).toBe(4403);
      expect(events.events).toEqual([]);
      await client.dispose();
    }
  });

  it('gives user A an error and no event for user B’s subscription; the internal scope may subscribe to anyone', async () => {
    const { client } = wsClient(a.wsUrl, { authorization: `Bearer ${await token('alice')}` });
    const theirs = subscribe<Changed>(client, QUERY, { id: 'bob' });
    await waitFor(() => theirs.errors.length > 0, { what: 'the FORBIDDEN error' });
    expect((theirs.errors as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    await act('bob');
    expect(theirs.events).toEqual([]);
    await client.dispose();

    const internal = wsClient(a.wsUrl, { authorization: `Bearer ${await token('indexer', 'activity:read:any')}` });
    const any = subscribe<Changed>(internal.client, QUERY, { id: 'bob' });
    await any.count(1);
    expect(any.events[0]!.userActivityChanged.id).toBe('bob');
    await internal.client.dispose();
  });

  it('lets a client that stops reading fall behind alone: others keep up, and it later gets the newest state, not a backlog', async () => {
    const userId = 'slowpoke';
    const query = `subscription ($id: ID!) { userActivityChanged(userId: $id) { id features { version counts { window type count } recentItems { item { id } at } } } }`;
    const auth = `Bearer ${await token(userId)}`;

    // The slow client: a raw socket that subscribes, then stops reading.
    const slow = new WebSocket(a.wsUrl, 'graphql-transport-ws');
    const slowVersions: number[] = [];
    slow.on('message', (raw: Buffer) => {
      const msg = JSON.parse(raw.toString()) as { type: string; payload?: { data?: Changed } };
      if (msg.type === 'connection_ack') slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { id: userId } } }));
      if (msg.type === 'next') slowVersions.push(msg.payload!.data!.userActivityChanged.features.version);
    });
    await new Promise((resolve) => slow.once('open', resolve));
    slow.send(JSON.stringify({ type: 'connection_init', payload: { authorization: auth, 'router-authorization': ROUTER_SECRET } }));
    await waitFor(() => slowVersions.length === 1, { what: 'the slow client’s snapshot' });
    (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const fast = wsClient(a.wsUrl, { authorization: auth });
    const fastSub = subscribe<Changed>(fast.client, query, { id: userId });
    await fastSub.count(1);

    // 3,000 real changes, each announced on the feature-updates topic as the processor would.
    const producer = kafka.producer();
    await producer.connect();
    let version = 0;
    for (let batch = 0; batch < 30; batch++) {
      const updates = [];
      for (let i = 0; i < 100; i++) {
        const e: ActivityEvent = { eventId: `slow-${batch}-${i}`, userId, type: 'VIEW', itemId: `item-${(batch * 100 + i) % 40}`, occurredAt: Date.now() };
        version = (await store.applyEvents(delivered([e], Date.now()), Date.now())).get(userId)!.version;
        updates.push(featureUpdateMessage({ userId, version, cause: 'activity', changed: ['counts'], eventTime: e.occurredAt, at: Date.now() }));
      }
      await producer.send({ topic: config.kafka.topics.featureUpdates, messages: updates });
    }
    await producer.disconnect();

    const fastLast = () => fastSub.events.at(-1)?.userActivityChanged.features.version ?? 0;
    await waitFor(() => fastLast() === version, { timeoutMs: 30_000, what: 'the fast client to reach the last version while the slow one is paused' });
    const superseded = (await a.metrics.live.superseded.get()).values[0]?.value ?? 0;
    expect(superseded).toBeGreaterThan(0);

    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor(() => slowVersions.at(-1) === version, { timeoutMs: 30_000, what: 'the slow client to catch up with the newest state' });
    expect(slowVersions.length).toBeLessThan(3_000);
    expect(slowVersions).toEqual([...slowVersions].sort((x, y) => x - y));
    process.stdout.write(`[subscriptions] slow client: ${slowVersions.length} messages for 3000 changes; ${superseded} superseded\n`);
    slow.close();
    await fast.client.dispose();
  });

  it('ends a subscription as soon as its client completes it or closes the socket, with no update to its user', async () => {
    // An instance of its own, so the gauge counts only this test's subscriptions.
    const c = await startLiveApi(config);
    try {
      const open = async () => (await c.metrics.live.subscriptions.get()).values[0]?.value ?? 0;
      const ws = wsClient(c.wsUrl, { authorization: `Bearer ${await token('ops', 'activity:read:any')}` });
      const quiet = ['quiet-1', 'quiet-2', 'quiet-3'].map((id) => subscribe<Changed>(ws.client, QUERY, { id }));
      for (const q of quiet) await q.count(1);
      expect(await open()).toBe(3);

      quiet[0]!.stop();
      await waitFor(async () => (await open()) === 2, { what: 'the completed subscription to end' });
      // Every subscription of a closed socket ends, not only the first.
      await ws.client.dispose();
      await waitFor(async () => (await open()) === 0, { what: 'the closed socket’s subscriptions to end' });
    } finally {
      await c.stop();
    }
  });
});
