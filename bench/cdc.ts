/**
 * Legacy row → feature: rows inserted into the legacy PostgreSQL table at a
 * steady rate (one transaction every 50 ms), through Debezium and Kafka
 * Connect, to the feature update the processor publishes for the row's user.
 * Beside it, in the same run and on the same broker and stores, the baseline:
 * the same events produced straight to `user-activity` (acks = all), so the
 * difference is what PostgreSQL, the replication slot and Connect add.
 * Latency is from COMMIT (or the producer's ack) to the update's arrival.
 *
 *   npm run bench -- cdc [--rate 1000] [--seconds 20]
 */
import { parseArgs } from 'node:util';
import type { ActivityEvent } from '../src/features/activity.js';
import { createFeatureUpdatesListener } from '../src/live/feature-updates.js';
import { ensureTopics, createKafka, serviceTopics } from '../src/ingest/kafka.js';
import { createProcessor } from '../src/ingest/processor.js';
import { createLogger } from '../src/observability/logger.js';
import { connectRedis, createRedisUserStateStore } from '../src/stores/redis-user-state-store.js';
import { connectDb, connectorConfig, dropConnector, insertRows, putConnector, services, startCdcServers } from '../test/support/cdc.js';
import { benchConfig, benchServers, machine } from './support.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '20' } } });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const TICK_MS = 50;
const USERS = 2000;
const logger = createLogger('silent');

const servers = await benchServers();
const cdc = await startCdcServers();
const prefix = `bench${Date.now().toString(36)}`;
const config = benchConfig(servers, { TOPIC_CDC: `${prefix}.public.user_activity` });
const kafka = createKafka(config.kafka, logger);
await ensureTopics(kafka, serviceTopics(config.kafka.topics));
const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 1000), keyPrefix: config.redis.keyPrefix, params: config.features });
await store.markOnline('bench');
const processor = createProcessor({ kafka, store, config, logger });
await processor.start();

/** userId → rows handed over and not yet seen in a feature update: [occurredAt, handedOverAt]. */
const pending = new Map<string, [number, number][]>();
const latencies: number[] = [];
const listener = createFeatureUpdatesListener({ kafka, topic: config.kafka.topics.featureUpdates, instanceId: prefix, logger });
listener.on('update', (u) => {
  const now = performance.now();
  const list = pending.get(u.userId);
  if (!list) return;
  const left = list.filter(([at, handed]) => (at <= u.eventTime ? (latencies.push(now - handed), false) : true));
  if (left.length > 0) pending.set(u.userId, left);
  else pending.delete(u.userId);
});
await listener.start();

let seq = 0;
/** One tick's rows: distinct users, each row dated now (ms) so that the update's eventTime covers it. */
function tick(n: number) {
  const at = Date.now();
  return Array.from({ length: n }, () => {
    const i = seq++;
    return { userId: 1 + ((i * 7919) % USERS), type: 'VIEW_PRODUCT', productId: 1 + (i % 300), at };
  });
}
const handedOver = (rows: { userId: number; at: number }[], t: number) => {
  for (const r of rows) pending.set(String(r.userId), [...(pending.get(String(r.userId)) ?? []), [r.at, t]]);
};

async function steady(send: (rows: ReturnType<typeof tick>) => Promise<void>) {
  latencies.length = 0;
  const perTick = Math.round((rate * TICK_MS) / 1000);
  const start = performance.now();
  for (let k = 0; performance.now() - start < seconds * 1000; k++) {
    await send(tick(perTick));
    const next = start + (k + 1) * TICK_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  const sent = Math.round((performance.now() - start) / TICK_MS) * perTick;
  const deadline = Date.now() + 120_000;
  while (pending.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN);
  return { rows: latencies.length, sentApprox: sent, unmatched: [...pending.values()].reduce((n, l) => n + l.length, 0), p50ms: q(0.5), p99ms: q(0.99), maxMs: q(1) };
}

// Baseline: straight to the activity topic.
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const direct = await steady(async (rows) => {
  const events: ActivityEvent[] = rows.map((r) => ({ eventId: `d${seq}-${r.userId}-${r.at}`, userId: String(r.userId), type: 'VIEW', itemId: String(r.productId), occurredAt: r.at }));
  await producer.send({ topic: config.kafka.topics.activity, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
  handedOver(rows, performance.now());
});
await producer.disconnect();

// Through PostgreSQL, Debezium and Connect.
const db = await connectDb(cdc.postgresUrl);
await db.query('TRUNCATE user_activity RESTART IDENTITY');
const connector = connectorConfig({ prefix, schemas: false, postgresPort: Number(new URL(cdc.postgresUrl).port) });
await putConnector(cdc.connectUrl, prefix, connector);
const viaCdc = await steady(async (rows) => {
  await insertRows(db, rows);
  handedOver(rows, performance.now());
});

process.stdout.write(`${JSON.stringify({ bench: 'cdc', machine: machine(), rate, seconds, direct, cdc: viaCdc }, null, 2)}\n`);
await dropConnector(cdc.connectUrl, db, prefix, connector['slot.name']!);
await db.end();
await listener.stop();
await processor.stop();
await store.close();
await services('down', 'cdc');
process.exit(0);
