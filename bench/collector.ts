/**
 * The collector's throughput and latency: `POST /v1/events` with batches of
 * 1 and of 100 events, at 16 and 64 connections (autocannon), each answered
 * 202 only after Kafka acknowledged (acks = all). Beside it, in the same run
 * and on the same broker, a bare kafkajs producer sending the same batches
 * with as many sends in flight: what the collector's HTTP, validation, rate
 * limits and headers cost over the produce itself. Latency is measured at
 * one connection and at half of the peak rate.
 *
 *   npm run bench -- collector [--seconds 5]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createKafka, ensureTopics, serviceTopics } from '../src/ingest/kafka.js';
import { createLogger } from '../src/observability/logger.js';
import { benchConfig, benchServers, machine, startServer } from './support.js';

const APP_KEY = 'bench-app-key-0123';

const batch = (n: number, round: number) =>
  Array.from({ length: n }, (_, i) => ({ eventId: `b${round}-${i}`, userId: `u${(round * 31 + i) % 5000}`, type: 'VIEW', itemId: `i${i % 300}`, occurredAt: Date.now() }));

async function http(url: string, size: number, connections: number, seconds: number, rate?: number) {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-app-key': APP_KEY },
    body: JSON.stringify(batch(size, 0)),
    connections,
    duration: seconds,
    ...(rate ? { overallRate: rate } : {}),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return { eventsPerSec: Math.round(result.requests.average * size), p50ms: result.latency.p50, p99ms: result.latency.p99, reqPerSec: Math.round(result.requests.average) };
}

/** The same batches through a bare idempotent kafkajs producer, `inFlight` sends at a time. */
async function bare(kafka: ReturnType<typeof createKafka>, topic: string, size: number, inFlight: number, seconds: number) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const latencies: number[] = [];
  const until = Date.now() + seconds * 1000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      for (let round = w; Date.now() < until; round += inFlight) {
        const started = performance.now();
        await producer.send({ topic, acks: -1, messages: batch(size, round).map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
        latencies.push(performance.now() - started);
        sent += size;
      }
    }),
  );
  await producer.disconnect();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
  return { eventsPerSec: Math.round(sent / seconds), p50ms: at(0.5), p99ms: at(0.99) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' } }, allowPositionals: true });
  const seconds = Number(values.seconds ?? 5);
  execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  const servers = await benchServers();
  const config = benchConfig(servers);
  const kafka = createKafka(config.kafka, createLogger('silent'));
  await ensureTopics(kafka, serviceTopics(config.kafka.topics));
  const { url, child } = await startServer(
    'dist/main.js',
    {
      ...servers, ROLES: 'collector', NODE_ENV: 'production', JWT_SECRET: 'bench-secret-that-is-at-least-32-bytes', ROUTER_SECRET: 'none',
      COLLECTOR_PORT: '0', METRICS_PORT: '0', COLLECTOR_APP_KEYS: `bench=${APP_KEY}`, COLLECTOR_RATE_PER_APP: '100000000', COLLECTOR_RATE_PER_IP: '100000000',
      TOPIC_ACTIVITY: config.kafka.topics.activity, REDIS_KEY_PREFIX: config.redis.keyPrefix,
    },
    /Collector: (http:\/\/\S+)/,
  );
  const results: Record<string, unknown> = {};
  try {
    await http(url, 100, 16, 1); // warm-up
    for (const size of [1, 100]) {
      for (const connections of [16, 64]) {
        const peak = await http(url, size, connections, seconds);
        const atHalf = await http(url, size, connections, seconds, Math.max(1, Math.round(peak.reqPerSec / 2)));
        const producer = await bare(kafka, config.kafka.topics.activity, size, connections, seconds);
        results[`batch${size}_c${connections}`] = {
          collector: peak,
          collectorAtHalfPeak: { p50ms: atHalf.p50ms, p99ms: atHalf.p99ms },
          bareProducer: producer,
          collectorOverBare: Number((peak.eventsPerSec / producer.eventsPerSec).toFixed(2)),
        };
      }
    }
    const single = await http(url, 1, 1, seconds);
    results.oneConnection = { p50ms: single.p50ms, p99ms: single.p99ms };
  } finally {
    child.kill('SIGTERM');
  }
  process.stdout.write(`${JSON.stringify({ bench: 'collector', machine: machine(), secondsPerCase: seconds, ...results }, null, 2)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
