/**
 * The collector on real Kafka and Redis: what it answers, what it produces
 * (checked against the topic's end offsets and its messages), its limits
 * (fault rows 18, 19, 20), and events POSTed to it changing the score the
 * API serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/features/activity.js';
import { createKafka } from '../../src/ingest/kafka.js';
import { createProcessor } from '../../src/ingest/processor.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { JWT_SECRET, post, ROUTER_SECRET, startApi, token } from '../support/api-harness.js';
import { APP_KEY, APP_KEYS, messagesOn, postEvents, spawnCollector, startCollector, WEB_KEY, type RunningCollector } from '../support/collector-harness.js';
import { isolatedConfig, readAll } from '../support/processor-harness.js';
import { waitFor } from '../support/wait-for.js';

const config = isolatedConfig({
  COLLECTOR_APP_KEYS: APP_KEYS,
  COLLECTOR_CORS_ORIGINS: 'https://shop.example',
  COLLECTOR_MAX_BATCH: '100',
  COLLECTOR_RATE_PER_APP: '200',
  COLLECTOR_RATE_PER_IP: '100000',
  COLLECTOR_BURST_SECONDS: '1',
  // New topics elect their leaders while the first sends wait: not the outage a 503 is for.
  COLLECTOR_ACK_TIMEOUT_MS: '15000',
  JWT_SECRET,
  ROUTER_SECRET,
});
const kafka = createKafka(config.kafka, createLogger('silent'));
const topic = config.kafka.topics.activity;
let n = 0;
const event = (userId: string, extra: Partial<ActivityEvent> = {}) => ({ eventId: `c-${n++}`, userId, type: 'VIEW', itemId: 'sku-1', occurredAt: Date.now(), ...extra });

describe('the collector on real Kafka and Redis', () => {
  let collector: RunningCollector;
  beforeAll(async () => {
    collector = await startCollector(config);
  });
  afterAll(() => collector.stop());

  it('answers 202 only once Kafka has the event, keyed by user, stamped with the app and the arrival time', async () => {
    const before = await messagesOn(kafka, topic);
    const sent = Date.now();
    const one = event('ann', { category: 'books', occurredAt: new Date(sent).toISOString() as unknown as number });
    const res = await postEvents(collector.eventsUrl, one);
    expect(res).toMatchObject({ status: 202, body: { accepted: 1, rejected: [] } });
    expect(await messagesOn(kafka, topic)).toBe(before + 1);
    const [message] = (await readAll(kafka, topic)).filter((m) => m.key === 'ann');
    expect(JSON.parse(message!.value!)).toEqual({ ...one, occurredAt: sent });
    expect(message!.headers['app-id']).toBe('web');
    expect(Number(message!.headers['received-at'])).toBeGreaterThanOrEqual(sent);
  });

  it('produces the valid events of a batch and lists the invalid ones by index with their field paths', async () => {
    const before = await messagesOn(kafka, topic);
    const batch = [
      event('bea'),
      { eventId: 'x1', userId: 'bea', type: 'PURCHASE', occurredAt: Date.now() },
      event('bea', { type: 'LIKE', itemId: undefined }),
      { eventId: 'x2', userId: '', type: 'TELEPORT', occurredAt: 'yesterday' },
      event('bea', { occurredAt: Date.now() + 3_600_000 }),
      event('bea', { type: 'SHARE' }),
    ];
    const res = await postEvents(collector.eventsUrl, batch);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(3);
    expect(res.body.rejected).toEqual([
      { index: 1, errors: [{ path: 'itemId', message: 'itemId is required for item events' }] },
      { index: 3, errors: expect.arrayContaining([expect.objectContaining({ path: 'userId' }), expect.objectContaining({ path: 'type' }), expect.objectContaining({ path: 'occurredAt' })]) as unknown },
      { index: 4, errors: [{ path: 'occurredAt', message: 'more than 300000 ms after its arrival' }] },
    ]);
    expect(await messagesOn(kafka, topic)).toBe(before + 3);
  });

  it('takes NDJSON, and a sendBeacon-style text/plain body with ?appKey=, and refuses other content types (415)', async () => {
    const before = await messagesOn(kafka, topic);
    const ndjson = `${JSON.stringify(event('cy'))}\n{not json\n${JSON.stringify(event('cy'))}\n`;
    const lines = await postEvents(collector.eventsUrl, ndjson, { contentType: 'application/x-ndjson' });
    expect(lines.status).toBe(202);
    expect(lines.body).toEqual({ accepted: 2, rejected: [{ index: 1, errors: [{ path: '(root)', message: expect.stringMatching(/^not JSON: /) as unknown }] }] });
    const beacon = await fetch(`${collector.eventsUrl}?appKey=${APP_KEY}`, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: JSON.stringify(event('cy')) });
    expect(beacon.status).toBe(202);
    const xml = await postEvents(collector.eventsUrl, '<event/>', { contentType: 'application/xml' });
    expect(xml.status).toBe(415);
    expect(await messagesOn(kafka, topic)).toBe(before + 3);
  });

  it('refuses unknown app keys (401) and browser origins off the allow-list (403); answers an allowed preflight', async () => {
    expect((await postEvents(collector.eventsUrl, event('dee'), { key: null })).status).toBe(401);
    expect((await postEvents(collector.eventsUrl, event('dee'), { key: 'not-a-key-000' })).status).toBe(401);
    expect((await postEvents(collector.eventsUrl, event('dee'), { origin: 'https://evil.example' })).status).toBe(403);
    const allowed = await postEvents(collector.eventsUrl, event('dee'), { origin: 'https://shop.example' });
    expect(allowed.status).toBe(202);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const preflight = await fetch(collector.eventsUrl, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/x-app-key/);
  });

  it('row 18: malformed JSON gets 400 with the error, and nothing is produced', async () => {
    const before = await messagesOn(kafka, topic);
    const res = await postEvents(collector.eventsUrl, '{"eventId": "m1", "userId": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ accepted: 0, rejected: [{ index: 0, errors: [{ path: '(root)', message: expect.stringMatching(/^not JSON: /) as unknown }] }] });
    const none = await postEvents(collector.eventsUrl, [{ eventId: 'm2' }]);
    expect(none.status).toBe(400);
    expect(none.body.rejected?.[0]?.errors.map((e) => e.path)).toEqual(expect.arrayContaining(['userId', 'type', 'occurredAt']));
    expect((await postEvents(collector.eventsUrl, Array.from({ length: 101 }, () => event('eve')))).status).toBe(413);
    expect(await messagesOn(kafka, topic)).toBe(before);
  });

  it('row 19: a body past 1 MiB gets 413 without being read, nothing is produced, and 100 of them leave RSS stable', async () => {
    const before = await messagesOn(kafka, topic);
    const big = JSON.stringify(Array.from({ length: 12_000 }, () => event('fay')));
    expect(Buffer.byteLength(big)).toBeGreaterThan(1_048_576);
    const declared = await postEvents(collector.eventsUrl, big);
    expect(declared.status).toBe(413);
    // Chunked, with no length declared: refused once past the limit.
    const streamed = await fetch(collector.eventsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-app-key': WEB_KEY },
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await messagesOn(kafka, topic)).toBe(before);

    // The collector's own RSS, as a process of its own: three rounds of ten to warm it, then a hundred more.
    const alone = await spawnCollector(config);
    try {
      const round = () => Promise.all(Array.from({ length: 10 }, () => postEvents(alone.eventsUrl, big).then((r) => expect(r.status).toBe(413))));
      for (let i = 0; i < 3; i++) await round();
      const rss = alone.rss();
      for (let i = 0; i < 10; i++) await round();
      const grown = alone.rss() - rss;
      process.stdout.write(`[row 19] collector RSS ${Math.round(rss / 2 ** 20)} MiB, then ${grown >= 0 ? '+' : ''}${(grown / 2 ** 20).toFixed(1)} MiB after 100 refused 1.3 MiB bodies\n`);
      expect(grown).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await alone.stop();
    }
    expect(await messagesOn(kafka, topic)).toBe(before);
  }, 60_000);

  it('row 20: 1,000 requests a second from one app key get 429 with Retry-After; another app key is unaffected', async () => {
    const statuses = { web: [] as number[], app: [] as number[] };
    let retryAfter: string | null = null;
    const started = Date.now();
    for (let round = 0; round < 10; round++) {
      const web = Array.from({ length: 100 }, () => postEvents(collector.eventsUrl, event('gus')));
      const app = postEvents(collector.eventsUrl, event('hal'), { key: APP_KEY });
      for (const r of await Promise.all(web)) {
        statuses.web.push(r.status);
        if (r.status === 429) retryAfter ??= r.headers.get('retry-after');
      }
      statuses.app.push((await app).status);
    }
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(statuses.web.filter((s) => s === 429).length).toBeGreaterThan(0);
    // 200 events a second, spent in 1 s windows: at most one window's worth per second begun, and one more.
    expect(statuses.web.filter((s) => s === 202).length).toBeLessThanOrEqual(200 * (seconds + 1));
    expect(new Set(statuses.web)).toEqual(new Set([202, 429]));
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(statuses.app).toEqual(Array.from({ length: 10 }, () => 202));
    expect((await collector.metrics.collector.rateLimited.get()).values).toEqual([expect.objectContaining({ labels: { scope: 'app' } })]);
  });

  it('is ready only when Kafka answers, and live at once', async () => {
    const base = collector.eventsUrl.replace('/v1/events', '');
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const ready = await fetch(`${base}/health/ready`);
    expect(await ready.json()).toEqual({ ready: true, state: 'ready', checks: { kafka: 'ok' } });
  });
});

describe('limits shared by every collector instance', () => {
  it('spends one app budget through Redis, whichever instance an event reaches', async () => {
    // 5 events a second in 60 s windows: 300 for the whole test, wherever they arrive.
    const c = isolatedConfig({ COLLECTOR_APP_KEYS: APP_KEYS, COLLECTOR_RATE_PER_APP: '5', COLLECTOR_BURST_SECONDS: '60', COLLECTOR_ACK_TIMEOUT_MS: '15000' });
    const [a, b] = [await startCollector(c), await startCollector(c)];
    try {
      const send = (to: RunningCollector, user: string) => postEvents(to.eventsUrl, Array.from({ length: 10 }, () => event(user)));
      const answers = await Promise.all([...Array.from({ length: 20 }, () => send(a, 'jo')), ...Array.from({ length: 20 }, () => send(b, 'kim'))]);
      const accepted = answers.filter((r) => r.status === 202).length;
      expect(accepted * 10).toBe(300);
      expect(answers.filter((r) => r.status === 429).length).toBe(10);
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 60_000);
});

describe('end to end: events POSTed to the collector change the score the API serves', () => {
  it('applies them through the processor, and the API reads the new score and tier', async () => {
    const c = isolatedConfig({ COLLECTOR_APP_KEYS: APP_KEYS, JWT_SECRET, ROUTER_SECRET });
    const logger = createLogger('silent');
    const collector = await startCollector(c);
    const store = createRedisUserStateStore({ redis: connectRedis(c.redis.url, 2000), keyPrefix: c.redis.keyPrefix, params: c.features });
    const processor = createProcessor({ kafka: createKafka(c.kafka, logger), store, config: c, logger });
    await processor.start();
    const api = await startApi(c, store);
    try {
      const scoreQuery = `{ _entities(representations: [{ __typename: "User", id: "ivy" }]) { ... on User { activityScore tier features { version } } } }`;
      const reader = await token('ivy');
      const before = await post(api.url, scoreQuery, { token: reader });
      expect(before.body.data).toEqual({ _entities: [{ activityScore: 0, tier: 'BRONZE', features: { version: 0 } }] });
      const now = Date.now();
      const purchases = Array.from({ length: 30 }, (_, i) => ({ eventId: `ivy-${i}`, userId: 'ivy', type: 'PURCHASE', itemId: `sku-${i}`, occurredAt: now - i * 1000 }));
      expect((await postEvents(collector.eventsUrl, purchases)).body).toEqual({ accepted: 30, rejected: [] });
      let after: unknown;
      await waitFor(async () => {
        after = (await post(api.url, scoreQuery, { token: reader })).body.data;
        return (after as { _entities: { features: { version: number } }[] })._entities[0]!.features.version > 0;
      }, { timeoutMs: 30_000, what: 'the score to change' });
      // 30 purchases of weight 10, just now: 100·(1 − e^(−300/50)) ≈ 99.75.
      expect(after).toEqual({ _entities: [{ activityScore: expect.closeTo(99.75, 1) as unknown, tier: 'PLATINUM', features: { version: expect.any(Number) as unknown } }] });
    } finally {
      await api.stop();
      await processor.stop();
      await store.close();
      await collector.stop();
    }
  }, 90_000);
});
