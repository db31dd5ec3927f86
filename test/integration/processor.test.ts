/**
 * The processor on real Kafka and Redis: exact, idempotent features from a
 * large stream, dead letters for bad input, CDC envelopes, profiles, updates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { createProcessor, type Processor } from '../../src/ingest/processor.js';
import { replay } from '../../src/ingest/replay.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { readdirSync, readFileSync } from 'node:fs';
import type { ActivityEvent } from '../../src/features/activity.js';
import { decodeActivity } from '../../src/ingest/decode.js';
import { endOffsets, sum } from '../../src/ingest/offsets.js';
import { createRedisItemGraphStore } from '../../src/stores/redis-item-graph-store.js';
import { expectSameState } from '../support/events.js';
import { eventFile, FILE_T0, isolatedConfig, produce, readAll, referenceStates, toMessage, waitCaughtUp } from '../support/processor-harness.js';

const logger = createLogger('warn');

/** A fixture with its row's time moved to `at`, in the encoding it had (µs, ms or ISO text), so it is never too old to count. */
function recentRow(fixture: unknown, at: number): string {
  const body = (fixture as { payload?: { after?: Record<string, unknown> | null } }).payload ?? (fixture as { after?: Record<string, unknown> | null });
  const after = body.after;
  if (after && 'activity_timestamp' in after) {
    const t = after.activity_timestamp;
    after.activity_timestamp = typeof t === 'string' ? new Date(at).toISOString() : (t as number) >= 1e14 ? at * 1000 : at;
  }
  return JSON.stringify(fixture);
}
const openStore = (c: Config) =>
  createRedisUserStateStore({ redis: connectRedis(c.redis.url, 2000), keyPrefix: c.redis.keyPrefix, params: c.features });

describe('processor on real Kafka and Redis', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function start(config: Config): Promise<{ processor: Processor; store: UserStateStore; kafka: ReturnType<typeof createKafka> }> {
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const store = openStore(config);
    const processor = createProcessor({ kafka, store, config, logger });
    await processor.start();
    cleanup.push(() => store.close(), () => processor.stop());
    return { processor, store, kafka };
  }

  it('turns 100k events of 1k users into exactly the reference model’s state; the same file again changes nothing; a replay rebuilds it', async () => {
    const config = isolatedConfig();
    const { kafka, store } = await start(config);
    const events = eventFile(100_000, 1_000, 7);
    const started = Date.now();
    await produce(kafka, config.kafka.topics.activity, events.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 120_000);
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`[processor] 100k events produced and applied in ${seconds.toFixed(1)} s\n`);

    const expected = referenceStates(events, config.features);
    const users = [...expected.keys()].sort();
    expect(users.length).toBeGreaterThan(990);
    const live = await store.loadMany(users);
    users.forEach((id, i) => expectSameState(live[i], expected.get(id), 1e-9, { bookkeeping: false }));

    await produce(kafka, config.kafka.topics.activity, events.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 120_000);
    expect(await store.loadMany(users)).toEqual(live);

    const target = isolatedConfig();
    const rebuilt = openStore(target);
    cleanup.push(() => rebuilt.close());
    const result = await replay({ kafka, store: rebuilt, config, logger });
    expect(result.messages).toBe(200_000);
    const replayed = await rebuilt.loadMany(users);
    users.forEach((id, i) => expectSameState(replayed[i], live[i], 1e-9, { bookkeeping: false }));
  }, 240_000); // its waits allow 120 s each: the default 60 s would cut them short under load

  it('sends bad JSON, a missing userId and a malformed Debezium envelope to the DLQ once each, and goes on', async () => {
    const config = isolatedConfig();
    const { kafka, store } = await start(config);
    const good = eventFile(30, 3, 11);
    const bad = [
      { key: 'x', value: '{bad' },
      { key: 'y', value: JSON.stringify({ eventId: 'b2', type: 'LOGIN', occurredAt: 1 }) },
      { key: 'z', value: JSON.stringify({ schema: {}, payload: { op: 'c', before: null, after: { id: 5 } } }) },
    ];
    await produce(kafka, config.kafka.topics.activity, [...good.slice(0, 10).map(toMessage), ...bad, ...good.slice(10).map(toMessage)]);
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);

    const dead = await readAll(kafka, config.kafka.topics.activityDlq);
    expect(dead).toHaveLength(3);
    const input = await readAll(kafka, config.kafka.topics.activity);
    const letters = dead.map((d) => JSON.parse(d.value!) as { error: { code: string; message: string }; source: { topic: string; partition: number; offset: string }; raw: { data: string }; instance: string });
    expect(letters.map((l) => l.raw.data).sort()).toEqual(bad.map((b) => b.value).sort());
    for (const l of letters) {
      expect(l).toMatchObject({ error: { code: 'DECODE_FAILED' }, source: { topic: config.kafka.topics.activity }, instance: 'test' });
      // The source names the very message: at that partition and offset of the input lies the bad value.
      expect(input.find((m) => m.partition === l.source.partition && m.offset === l.source.offset)?.value).toBe(l.raw.data);
    }
    const reasonFor = (raw: string) => letters.find((l) => l.raw.data === raw)!.error.message;
    expect(reasonFor(bad[0]!.value)).toMatch(/not JSON/);
    expect(reasonFor(bad[1]!.value)).toMatch(/invalid activity event: userId/);
    expect(reasonFor(bad[2]!.value)).toMatch(/invalid Debezium row \(after\)/);
    const expected = referenceStates(good, config.features);
    const users = [...expected.keys()];
    const states = await store.loadMany(users);
    users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
  });

  it('applies Debezium CDC rows (update and snapshot read of a row count once, deletes and tombstones are skipped) and profiles', async () => {
    const config = isolatedConfig();
    const { kafka, store } = await start(config);
    const ms = FILE_T0 + 123; // a recent time, in µs below: what Debezium sends for a `timestamp` column
    const at = ms * 1000 + 456;
    const row = (id: number, type: string, product: string) => ({ id, user_id: 'legacy-1', activity_type: type, product_id: product, activity_timestamp: at + id });
    const envelope = (op: string, after: unknown, before: unknown = null) => JSON.stringify({ schema: { type: 'struct' }, payload: { op, before, after } });
    await produce(kafka, config.kafka.topics.cdc, [
      { key: '1', value: envelope('c', row(1, 'VIEW_PRODUCT', 'p1')) },
      { key: '1', value: envelope('u', row(1, 'VIEW_PRODUCT', 'p1'), row(1, 'VIEW_PRODUCT', 'p1')) },
      { key: '1', value: envelope('r', row(1, 'VIEW_PRODUCT', 'p1')) },
      { key: '2', value: envelope('c', row(2, 'ORDER_PLACED', 'p2')) },
      { key: '2', value: envelope('d', null, row(2, 'ORDER_PLACED', 'p2')) },
      { key: '2', value: null },
    ]);
    await produce(kafka, config.kafka.topics.profile, [
      { key: 'legacy-1', value: JSON.stringify({ userId: 'legacy-1', version: 3, vip: true, status: 'active' }) },
      { key: 'legacy-1', value: JSON.stringify({ userId: 'legacy-1', version: 2, vip: false, status: 'closed' }) },
    ]);
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.cdc, config.kafka.topics.profile]);
    const [state] = await store.loadMany(['legacy-1']);
    expect(state).toMatchObject({ vip: true, status: 'active', profileVersion: 3, recent: { p1: { at: ms, eventId: '1' }, p2: { at: ms, eventId: '2' } } });
    expect(state!.lastViewed).toEqual({ at: ms, eventId: '1', itemId: 'p1' });
    expect(state!.scoreSum).toBeCloseTo(1 + 10, 9);

    const updates = (await readAll(kafka, config.kafka.topics.featureUpdates)).map((u) => JSON.parse(u.value!) as { userId: string; version: number; cause: string; changed: string[] });
    expect(updates.every((u) => u.userId === 'legacy-1')).toBe(true);
    expect(Math.max(...updates.map((u) => u.version))).toBe(state!.version);
    expect(updates.find((u) => u.cause === 'profile')).toMatchObject({ changed: ['profile', 'tier'] });
    // CDC rows are keyed by row id, so one user's rows may arrive in several batches: look at them all.
    const changed = new Set(updates.filter((u) => u.cause === 'activity').flatMap((u) => u.changed));
    expect([...changed]).toEqual(expect.arrayContaining(['activityScore', 'lastViewedItem', 'recentItems']));
  });

  it('takes every change event PostgreSQL really emits (key-only and full deletes, truncate, message, update without before) without a dead letter', async () => {
    const config = isolatedConfig();
    const { kafka, store, processor } = await start(config);
    let skipped = 0;
    let applied = 0;
    processor.applier.on('batch', (b) => ((skipped += b.skipped), (applied += b.applied)));
    const dir = new URL('../fixtures/debezium/', import.meta.url);
    const files = readdirSync(dir).filter((f) => !/^(malformed|unmapped)/.test(f)).sort();
    const recent = Date.now() - 3_600_000;
    const values = files.map((f) => recentRow(JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as unknown, recent));
    const decoded = values.map((v) => decodeActivity(Buffer.from(v), config.processor.cdcTypeMap));
    await produce(kafka, config.kafka.topics.cdc, [...values.map((value) => ({ key: 'k', value })), { key: 'k', value: null }]);
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.cdc]);

    expect(sum(await endOffsets(kafka, [config.kafka.topics.activityDlq]))).toBe(0);
    const skips = decoded.filter((d) => d.kind === 'skip');
    expect(skipped).toBe(skips.length + 1);
    expect(skips.map((d) => d.kind === 'skip' && d.reason).sort()).toEqual(expect.arrayContaining(['delete', 'delete', 'message', 'truncate']));
    const rows = decoded.flatMap((d) => (d.kind === 'event' ? [d.value] : []));
    expect(applied).toBe(new Set(rows.map((r) => r.eventId)).size);
    const users = [...new Set(rows.map((r) => r.userId))];
    const states = await store.loadMany(users);
    expect(states.every((st) => st !== undefined && st.lastActivity !== null)).toBe(true);
  });

  it('dead-letters an event dated next year with EVENT_IN_FUTURE, and every later event of that user counts; trending never sees it', async () => {
    const config = isolatedConfig();
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const store = openStore(config);
    const itemGraph = createRedisItemGraphStore({ redis: connectRedis(config.redis.url, 2000), keyPrefix: config.redis.keyPrefix, params: config.recommendations });
    const processor = createProcessor({ kafka, store, itemGraph, config, logger });
    await processor.start();
    cleanup.push(() => store.close(), () => itemGraph.close(), () => processor.stop());

    const now = Date.now();
    const future: ActivityEvent = { eventId: 'f-0', userId: 'clock', type: 'PURCHASE', itemId: 'from-next-year', occurredAt: now + 365 * 86_400_000 };
    const later = Array.from({ length: 6 }, (_, i): ActivityEvent => ({ eventId: `f-${i + 1}`, userId: 'clock', type: 'VIEW', itemId: `now-${i % 3}`, occurredAt: now - 60_000 + i * 1000 }));
    await produce(kafka, config.kafka.topics.activity, [future, ...later].map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);

    // Exactly one dead letter: the DLQ's end offset, read after the consumer reached the end of its input.
    expect(sum(await endOffsets(kafka, [config.kafka.topics.activityDlq]))).toBe(1);
    const [letter] = await readAll(kafka, config.kafka.topics.activityDlq);
    expect(JSON.parse(letter!.value!)).toMatchObject({ error: { code: 'EVENT_IN_FUTURE' }, source: { topic: config.kafka.topics.activity } });
    const [state] = await store.loadMany(['clock']);
    expectSameState(state, referenceStates(later, config.features).get('clock'), 1e-9, { bookkeeping: false });
    const { trending } = await itemGraph.read([], 10, now);
    expect(trending.map((t) => t.itemId).sort()).toEqual(['now-0', 'now-1', 'now-2']);
    // Each item was viewed twice a minute ago: about 2, decayed from real event times (a half-life is a day), not from next year.
    for (const t of trending) expect(t.score).toBeGreaterThan(1.9);
  });
});
