/**
 * The collector's throughput and latency: `POST /v1/events` with batches of
 * 1 and of 100 events, at 16 and 64 connections (autocannon), each answered
 * 202 only after Kafka acknowledged (acks = all). Beside it, in the same run
 * and on the same broker, a bare kafkajs producer sending the same batches
 * with as many sends in flight: what the collector's HTTP, validation, rate
 * limits and headers cost over the produce itself. Latency is measured at
 * one connection and at half of the peak rate, the bare producer's at half
 * of its own peak: the floor the broker on this machine sets.
 *
 *   npm run bench -- collector [--seconds 5]
 */
import { execFileSync } from 'node:child_process';
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { Producer } from 'kafkajs';
import { createKafka, ensureTopics, serviceTopics } from '../src/ingest/kafka.js';
import { createLogger } from '../src/observability/logger.js';
import { BENCH_APP_KEY, COLLECTOR_READY, benchCollectorEnv, benchConfig, benchServers, machine, postEvents, startServer } from './support.js';
import { percentile } from './summary.js';

const batch = (n: number, round: number) =>
  Array.from({ length: n }, (_, i) => ({ eventId: `b${round}-${i}`, userId: `u${(round * 31 + i) % 5000}`, type: 'VIEW', itemId: `i${i % 300}`, occurredAt: Date.now() }));

/** Peak: as fast as `connections` keep-alive connections go. */
async function http(url: string, size: number, connections: number, seconds: number) {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-app-key': BENCH_APP_KEY },
    body: JSON.stringify(batch(size, 0)),
    connections,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return { eventsPerSec: Math.round(result.requests.average * size), p50ms: result.latency.p50, p99ms: result.latency.p99, reqPerSec: Math.round(result.requests.average) };
}

/** What an open-loop case drops before it counts: its connections opening, the first produces. */
const WARM_UP_MS = 1000;

/**
 * `inFlight` senders, each at its own evenly spaced slots adding up to `reqPerSec`, for `WARM_UP_MS`
 * and then `seconds`; latencies from the slot, those after the warm-up only.
 */
async function paced(seconds: number, inFlight: number, reqPerSec: number, send: (round: number) => Promise<void>) {
  const latencies: number[] = [];
  const start = performance.now() + 10;
  const counted = start + WARM_UP_MS;
  const until = counted + seconds * 1000;
  const intervalMs = (1000 * inFlight) / reqPerSec;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      for (let k = 0; ; k++) {
        const slot = start + (w / inFlight + k) * intervalMs;
        if (slot >= until) return;
        if (slot > performance.now()) await sleep(slot - performance.now());
        await send(k * inFlight + w);
        if (slot >= counted) latencies.push(performance.now() - slot);
      }
    }),
  );
  return quantiles(latencies);
}

const quantiles = (latencies: readonly number[]) => ({ p50ms: Math.round(percentile(latencies, 50)), p99ms: Math.round(percentile(latencies, 99)) });

/** The collector at `reqPerSec`, open loop, over `connections` keep-alive connections. */
async function httpPaced(url: string, size: number, connections: number, seconds: number, reqPerSec: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(url);
  const body = JSON.stringify(batch(size, 0));
  try {
    return await paced(seconds, connections, reqPerSec, () => postEvents(target, agent, body));
  } finally {
    agent.destroy();
  }
}

/** The same batches through a bare idempotent kafkajs producer, `inFlight` sends at a time: its peak. */
async function bare(kafka: ReturnType<typeof createKafka>, topic: string, size: number, inFlight: number, seconds: number) {
  return withProducer(kafka, async (producer) => {
    const latencies: number[] = [];
    const until = Date.now() + seconds * 1000;
    let sent = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async (_, w) => {
        for (let round = w; Date.now() < until; round += inFlight) {
          const started = performance.now();
          await producer.send({ topic, acks: -1, messages: messagesOf(size, round) });
          latencies.push(performance.now() - started);
          sent += size;
        }
      }),
    );
    return { eventsPerSec: Math.round(sent / seconds), reqPerSec: Math.round(latencies.length / seconds), ...quantiles(latencies) };
  });
}

/** The bare producer at `reqPerSec`, open loop, as the collector's half of peak. */
function barePaced(kafka: ReturnType<typeof createKafka>, topic: string, size: number, inFlight: number, seconds: number, reqPerSec: number) {
  return withProducer(kafka, (producer) => paced(seconds, inFlight, reqPerSec, async (round) => void (await producer.send({ topic, acks: -1, messages: messagesOf(size, round) }))));
}

const messagesOf = (size: number, round: number) => batch(size, round).map((e) => ({ key: e.userId, value: JSON.stringify(e) }));

async function withProducer<T>(kafka: ReturnType<typeof createKafka>, use: (producer: Producer) => Promise<T>): Promise<T> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    return await use(producer);
  } finally {
    await producer.disconnect();
  }
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
      COLLECTOR_PORT: '0', METRICS_PORT: '0', ...benchCollectorEnv,
      TOPIC_ACTIVITY: config.kafka.topics.activity, REDIS_KEY_PREFIX: config.redis.keyPrefix,
    },
    COLLECTOR_READY,
  );
  const results: Record<string, unknown> = {};
  try {
    await http(url, 100, 16, 1); // warm-up
    for (const size of [1, 100]) {
      for (const connections of [16, 64]) {
        const peak = await http(url, size, connections, seconds);
        const atHalf = await httpPaced(url, size, connections, seconds, Math.max(1, peak.reqPerSec / 2));
        const producer = await bare(kafka, config.kafka.topics.activity, size, connections, seconds);
        const bareAtHalf = await barePaced(kafka, config.kafka.topics.activity, size, connections, seconds, Math.max(1, producer.reqPerSec / 2));
        results[`batch${size}_c${connections}`] = {
          collector: peak,
          collectorAtHalfPeak: { p50ms: atHalf.p50ms, p99ms: atHalf.p99ms },
          bareProducer: producer,
          bareProducerAtHalfPeak: { p50ms: bareAtHalf.p50ms, p99ms: bareAtHalf.p99ms },
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
