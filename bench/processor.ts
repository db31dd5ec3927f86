/**
 * bench/processor: events/s from Kafka to features in Redis with offsets
 * committed, beside a bare kafkajs consumer (JSON.parse and commit, nothing
 * else) draining the same backlog on the same broker, in one run; the
 * processor runs twice per round, with recommendations (the item graph) off
 * and on, so their ratio is the cost of keeping co-occurrence and trending.
 *
 * Method: N events of U users are produced to a fresh topic (3 partitions);
 * each consumer, in a fresh group, drains it from the beginning; the clock
 * runs from the first batch (kafkajs' START_BATCH_PROCESS event, so group
 * joins are not counted) until the group's committed offsets reach the end
 * of every partition. Repeated R times, alternating, medians reported.
 *
 *   npm run bench -- processor [--events 200000] [--users 2000] [--runs 3]
 */
import { parseArgs } from 'node:util';
import type { Consumer, Kafka } from 'kafkajs';
import { createKafka, ensureTopics, serviceTopics } from '../src/ingest/kafka.js';
import { createProcessor } from '../src/ingest/processor.js';
import { createLogger } from '../src/observability/logger.js';
import { createRedisItemGraphStore } from '../src/stores/redis-item-graph-store.js';
import { connectRedis, createRedisUserStateStore } from '../src/stores/redis-user-state-store.js';
import { createMongoProfileStore } from '../src/stores/mongo-profile-store.js';
import { createRestoringStore } from '../src/stores/restoring-store.js';
import type { Config } from '../src/config.js';
import { caughtUp, eventFile, produce, toMessage } from '../test/support/processor-harness.js';
import { benchConfig, benchServers, machine, startBareConsumer, withCpu } from './support.js';
import { median } from './summary.js';

const logger = createLogger('silent');

async function until(kafka: Kafka, groupId: string, topic: string): Promise<void> {
  while (!(await caughtUp(kafka, groupId, [topic]))) await new Promise((r) => setTimeout(r, 20));
}

/** Seconds from the consumer's first batch until its group has committed everything. */
async function drain(kafka: Kafka, consumer: Consumer, groupId: string, topic: string, run: () => Promise<void>): Promise<number> {
  let first = 0;
  consumer.on(consumer.events.START_BATCH_PROCESS, () => {
    first ||= performance.now();
  });
  await run();
  await until(kafka, groupId, topic);
  return (performance.now() - first) / 1000;
}

async function bare(kafka: Kafka, topic: string, groupId: string): Promise<number> {
  const consumer = kafka.consumer({ groupId });
  const seconds = await drain(kafka, consumer, groupId, topic, () => startBareConsumer(consumer, topic));
  await consumer.disconnect();
  return seconds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string' }, users: { type: 'string' }, runs: { type: 'string' } }, allowPositionals: true });
  const events = Number(values.events ?? 200_000);
  const users = Number(values.users ?? 2_000);
  const runs = Number(values.runs ?? 3);
  const servers = await benchServers();
  const config = benchConfig(servers);
  const kafka = createKafka(config.kafka, logger);
  await ensureTopics(kafka, serviceTopics(config.kafka.topics));
  const topic = config.kafka.topics.activity;
  await produce(kafka, topic, eventFile(events, users, 5).map(toMessage));

  const bareRates: number[] = [];
  const processorRates: number[] = [];
  const recsRates: number[] = [];
  const batchSizes: number[] = [];
  let cpu = 0;
  /** One processor drain, in a group and Redis namespace of its own; events/s and CPU share. */
  async function processorRun(name: string, recommendations: boolean): Promise<{ rate: number; cpu: number }> {
    const run: Config = {
      ...config,
      processor: { ...config.processor, groupId: `${config.processor.groupId}-${name}` },
      redis: { ...config.redis, keyPrefix: `${config.redis.keyPrefix}${name}:` },
      recommendations: { ...config.recommendations, enabled: recommendations },
    };
    // As the processor role runs it: a user absent from Redis is looked up in MongoDB (every user here is new).
    const profiles = await createMongoProfileStore({ url: run.mongo.url, db: run.mongo.db });
    const redisStore = createRedisUserStateStore({ redis: connectRedis(run.redis.url, 5000), keyPrefix: run.redis.keyPrefix, params: run.features });
    const store = createRestoringStore(redisStore, profiles, { idleTtlMs: run.redis.idleTtlMs });
    const itemGraph = createRedisItemGraphStore({ redis: connectRedis(run.redis.url, 5000), keyPrefix: run.redis.keyPrefix, params: run.recommendations });
    const processor = createProcessor({ kafka, store, itemGraph, config: run, logger });
    processor.applier.on('batch', (b) => batchSizes.push(b.messages));
    const p = await withCpu(() => drain(kafka, processor.consumer, run.processor.groupId, topic, () => processor.start()));
    await processor.stop();
    await Promise.all([store.close(), itemGraph.close(), profiles.close()]);
    return { rate: events / p.result, cpu: p.cpuShare };
  }
  for (let r = 0; r < runs; r++) {
    bareRates.push(events / (await bare(kafka, topic, `${config.processor.groupId}-bare-${r}`)));
    const off = await processorRun(`off-${r}`, false);
    const on = await processorRun(`on-${r}`, true);
    processorRates.push(off.rate);
    recsRates.push(on.rate);
    cpu = off.cpu;
    process.stderr.write(`run ${r + 1}: bare ${bareRates[r]!.toFixed(0)}/s, processor ${off.rate.toFixed(0)}/s, with recommendations ${on.rate.toFixed(0)}/s\n`);
  }
  const result = {
    bench: 'processor',
    machine: machine(),
    events,
    users,
    runs,
    bareKafkajsEventsPerSec: Math.round(median(bareRates)),
    processorEventsPerSec: Math.round(median(processorRates)),
    ratio: Number((median(processorRates) / median(bareRates)).toFixed(2)),
    withRecommendationsEventsPerSec: Math.round(median(recsRates)),
    withRecommendationsRatio: Number((median(recsRates) / median(bareRates)).toFixed(2)),
    recommendationsOnOverOff: Number((median(recsRates) / median(processorRates)).toFixed(2)),
    warmupDropped: 'each drain: its group join and first fetch (the clock starts at the first batch)',
    processorCpuShareOfOneCore: Number(cpu.toFixed(2)),
    medianBatchMessages: median(batchSizes),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
